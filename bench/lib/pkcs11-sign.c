/*
 * PKCS#11 signing driver for the sign bench (compiled at bench time against p11-kit's pkcs11.h).
 *   pkcs11-sign MODULE setup LABEL          init a free slot's token, generate the bench key pairs and
 *                                           print each public key as a JSON line
 *   pkcs11-sign MODULE sign KEY MECH HEX START_MS SECONDS
 *                                           C_SignInit + C_Sign on the message HEX in a loop: warm up
 *                                           until START_MS (epoch ms), count for SECONDS, print JSON
 * PINs come from $P11_PIN and $P11_SO_PIN, never argv. KEY is ed25519, p256 or rsa2048; MECH is
 * eddsa, ecdsa (HEX is the SHA-256 digest: SoftHSM 2.6 has no CKM_ECDSA_SHA256) or sha256-rsa.
 * Exit 0 with {"error":...} on a PKCS#11 failure, so the bench can record "fails" with the reason.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST *p11;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void hex(const char *name, const unsigned char *p, CK_ULONG n) {
  printf("\"%s\":\"", name);
  for (CK_ULONG i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\"");
}

#define CHECK(call)                                                              \
  do {                                                                           \
    CK_RV rv_ = (call);                                                          \
    if (rv_ != CKR_OK) {                                                         \
      printf("{\"error\":\"0x%lx\",\"at\":\"%.40s\"}\n", (unsigned long)rv_, #call); \
      exit(0);                                                                   \
    }                                                                            \
  } while (0)

static const char *pin(const char *var) {
  const char *p = getenv(var);
  if (!p || !*p) {
    fprintf(stderr, "pkcs11-sign: $%s is not set\n", var);
    exit(2);
  }
  return p;
}

/* The first slot whose token is initialised (setup: the first one that is not). */
static CK_SLOT_ID find_slot(int initialised) {
  CK_SLOT_ID slots[64];
  CK_ULONG n = 64;
  CHECK(p11->C_GetSlotList(CK_TRUE, slots, &n));
  for (CK_ULONG i = 0; i < n; i++) {
    CK_TOKEN_INFO info;
    CHECK(p11->C_GetTokenInfo(slots[i], &info));
    if (!!(info.flags & CKF_TOKEN_INITIALIZED) == initialised) return slots[i];
  }
  printf("{\"error\":\"no %s token\",\"at\":\"C_GetSlotList\"}\n", initialised ? "initialised" : "free");
  exit(0);
}

static CK_SESSION_HANDLE login(CK_SLOT_ID slot, CK_USER_TYPE who, const char *var) {
  CK_SESSION_HANDLE s;
  CHECK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
  const char *p = pin(var);
  CHECK(p11->C_Login(s, who, (CK_UTF8CHAR *)p, strlen(p)));
  return s;
}

static void print_public(CK_SESSION_HANDLE s, const char *label, CK_OBJECT_HANDLE pub, int rsa) {
  unsigned char a[600], b[16];
  CK_ATTRIBUTE attrs[] = {{rsa ? CKA_MODULUS : CKA_EC_POINT, a, sizeof a}, {CKA_PUBLIC_EXPONENT, b, sizeof b}};
  CHECK(p11->C_GetAttributeValue(s, pub, attrs, rsa ? 2 : 1));
  printf("{\"key\":\"%s\",", label);
  hex(rsa ? "modulus" : "ecPoint", a, attrs[0].ulValueLen);
  if (rsa) printf(","), hex("exponent", b, attrs[1].ulValueLen);
  printf("}\n");
}

static void generate(CK_SESSION_HANDLE s, const char *label, CK_MECHANISM_TYPE mech, CK_BYTE *params,
                     CK_ULONG params_len, CK_KEY_TYPE type) {
  CK_BBOOL yes = CK_TRUE;
  CK_ULONG bits = 2048;
  CK_BYTE e[] = {1, 0, 1};
  CK_ATTRIBUTE pub[] = {
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_VERIFY, &yes, sizeof yes},
      {CKA_LABEL, (void *)label, strlen(label)},
      {params ? CKA_EC_PARAMS : CKA_MODULUS_BITS, params ? (void *)params : &bits,
       params ? params_len : sizeof bits},
      {CKA_PUBLIC_EXPONENT, e, sizeof e},
  };
  CK_ATTRIBUTE priv[] = {
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_SIGN, &yes, sizeof yes},
      {CKA_LABEL, (void *)label, strlen(label)},
  };
  CK_MECHANISM m = {mech, NULL, 0};
  CK_OBJECT_HANDLE hpub, hpriv;
  CHECK(p11->C_GenerateKeyPair(s, &m, pub, params ? 4 : 5, priv, 5, &hpub, &hpriv));
  print_public(s, label, hpub, type == CKK_RSA);
}

static int setup(const char *token_label) {
  CK_SLOT_ID slot = find_slot(0);
  CK_UTF8CHAR label[32];
  memset(label, ' ', sizeof label);
  memcpy(label, token_label, strlen(token_label) < 32 ? strlen(token_label) : 32);
  const char *so = pin("P11_SO_PIN"), *user = pin("P11_PIN");
  CHECK(p11->C_InitToken(slot, (CK_UTF8CHAR *)so, strlen(so), label));
  slot = find_slot(1); /* SoftHSM moves an initialised token to a new slot id */
  CK_SESSION_HANDLE s = login(slot, CKU_SO, "P11_SO_PIN");
  CHECK(p11->C_InitPIN(s, (CK_UTF8CHAR *)user, strlen(user)));
  CHECK(p11->C_Logout(s));
  CHECK(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)user, strlen(user)));
  CK_BYTE ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70}; /* OID 1.3.101.112 */
  CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  generate(s, "ed25519", CKM_EC_EDWARDS_KEY_PAIR_GEN, ed25519, sizeof ed25519, CKK_EC_EDWARDS);
  generate(s, "p256", CKM_EC_KEY_PAIR_GEN, p256, sizeof p256, CKK_EC);
  generate(s, "rsa2048", CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0, CKK_RSA);
  return 0;
}

static CK_MECHANISM_TYPE mechanism(const char *name) {
  if (!strcmp(name, "eddsa")) return CKM_EDDSA;
  if (!strcmp(name, "ecdsa")) return CKM_ECDSA;
  if (!strcmp(name, "sha256-rsa")) return CKM_SHA256_RSA_PKCS;
  fprintf(stderr, "pkcs11-sign: unknown mechanism %s\n", name);
  exit(2);
}

static int sign(const char *key, const char *mech_name, const char *msg_hex, double start_ms, double seconds) {
  CK_SESSION_HANDLE s = login(find_slot(1), CKU_USER, "P11_PIN");
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, (void *)key, strlen(key)}};
  CK_OBJECT_HANDLE priv;
  CK_ULONG found = 0;
  CHECK(p11->C_FindObjectsInit(s, find, 2));
  CHECK(p11->C_FindObjects(s, &priv, 1, &found));
  CHECK(p11->C_FindObjectsFinal(s));
  if (!found) {
    printf("{\"error\":\"no key %s\",\"at\":\"C_FindObjects\"}\n", key);
    return 0;
  }
  CK_MECHANISM m = {mechanism(mech_name), NULL, 0};
  CK_BYTE msg[256], sig[512];
  CK_ULONG msg_len = 0;
  for (; msg_len < sizeof msg && sscanf(msg_hex + 2 * msg_len, "%2hhx", &msg[msg_len]) == 1; msg_len++) {
  }
  CK_ULONG sig_len = 0;
  unsigned long ops = 0;
  double end_ms = start_ms + seconds * 1e3, t;
  while ((t = now_ms()) < end_ms) {
    sig_len = sizeof sig;
    CHECK(p11->C_SignInit(s, &m, priv));
    CHECK(p11->C_Sign(s, msg, msg_len, sig, &sig_len));
    if (t >= start_ms) ops++;
  }
  printf("{\"ops\":%lu,\"seconds\":%.3f,", ops, seconds);
  hex("signature", sig, sig_len);
  printf("}\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: pkcs11-sign MODULE setup LABEL | MODULE sign KEY MECH HEX START_MS SECONDS\n");
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW);
  CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
  if (!get) {
    fprintf(stderr, "pkcs11-sign: cannot load %s: %s\n", argv[1], dlerror());
    return 2;
  }
  CHECK(get(&p11));
  CHECK(p11->C_Initialize(NULL));
  int rc = 2;
  if (!strcmp(argv[2], "setup")) rc = setup(argv[3]);
  if (!strcmp(argv[2], "sign") && argc == 8) rc = sign(argv[3], argv[4], argv[5], atof(argv[6]), atof(argv[7]));
  p11->C_Finalize(NULL);
  return rc;
}
