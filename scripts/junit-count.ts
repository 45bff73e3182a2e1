/** Prints "tests failures errors skipped" summed over a JUnit XML report's <testsuite> elements. */
export {};

const xml = await Bun.file(process.argv[2]!).text();
const root = /<testsuites\b[^>]*>/.exec(xml)?.[0] ?? "";
const attr = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(root)?.[1] ?? 0);
console.log(`${attr("tests")} ${attr("failures")} ${attr("errors")} ${attr("skipped")}`);
