/** The configparser-compatible INI reader and the one-section editor. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  classifyIniLines,
  escapeIniInterpolation,
  interpolateIniValue,
  parseIni,
  replaceIniSection,
} from "../../src/client/ini.js";
import { MlflowSecretsError } from "../../src/errors.js";

describe("parseIni (configparser rules)", () => {
  it("reads sections, lower-cases option names, trims values, keeps # and ; inside values", () => {
    const doc = parseIni(
      "# comment\n[mlflow]\nMLFLOW_Tracking_Username = alice \nmlflow_tracking_password: p#ss;word = x\n; c\n",
      "f",
    );
    const mlflow = doc.sections.get("mlflow")!;
    assert.equal(mlflow.get("mlflow_tracking_username"), "alice");
    assert.equal(mlflow.get("mlflow_tracking_password"), "p#ss;word = x");
  });

  it("keeps section names case-sensitive and treats [DEFAULT] as defaults", () => {
    const doc = parseIni("[DEFAULT]\nhost = h\n[MLflow]\na = 1\n", "f");
    assert.equal(doc.defaults.get("host"), "h");
    assert.equal(doc.sections.has("mlflow"), false);
    assert.equal(doc.sections.get("MLflow")?.get("a"), "1");
  });

  it("joins deeper-indented continuation lines, and an indented [x] there is not a header", () => {
    const doc = parseIni("[s]\nkey = first\n  second\n  [notaheader]\nother = 2\n", "f");
    assert.equal(doc.sections.get("s")?.get("key"), "first\nsecond\n[notaheader]");
    assert.equal(doc.sections.get("s")?.get("other"), "2");
    assert.equal(doc.sections.size, 1);
  });

  it("rejects what configparser rejects, naming the line but never quoting it", () => {
    const cases: [string, RegExp][] = [
      ["token = secret-value\n", /line 1: an option comes before any \[section\] header/],
      ["[a]\nx = 1\n[a]\n", /line 3: duplicate section \[a\]/],
      ["[a]\nx = 1\nX = secret-value\n", /line 3: duplicate option 'x'/],
      ["[a]\njust-some-secret-value\n", /line 2: not a \[section\] header/],
    ];
    for (const [text, pattern] of cases) {
      assert.throws(
        () => parseIni(text, "/path/creds"),
        (err: Error) =>
          err instanceof MlflowSecretsError &&
          pattern.test(err.message) &&
          err.message.startsWith("/path/creds") &&
          !err.message.includes("secret-value"),
      );
    }
  });

  it("classifies lines for the editor without throwing", () => {
    const kinds = classifyIniLines("x\n[a]\n# c\n\nk = v\n  more\n").map((l) => l.kind);
    assert.deepEqual(kinds, ["invalid", "header", "comment", "blank", "option", "continuation"]);
  });
});

describe("interpolateIniValue (BasicInterpolation)", () => {
  const lookup = (name: string): string | undefined =>
    ({ user: "alice", nested: "%(user)s!", loop: "%(loop)s" })[name];

  it("turns %% into % and expands %(name)s, recursively", () => {
    assert.equal(interpolateIniValue("100%% %(user)s", lookup, "w"), "100% alice");
    assert.equal(interpolateIniValue("%(NESTED)s", lookup, "w"), "alice!");
  });

  it("rejects a lone %, a missing reference and a loop without quoting the value", () => {
    assert.throws(
      () => interpolateIniValue("pa%ss", lookup, "file key"),
      /file key: a '%' must be followed/,
    );
    assert.throws(
      () => interpolateIniValue("%(nope)s", lookup, "w"),
      /'%\(nope\)s' refers to an option that is not set/,
    );
    assert.throws(() => interpolateIniValue("%(loop)s", lookup, "w"), /nest deeper than 10/);
  });

  it("escaping round-trips any value (property)", () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        assert.equal(
          interpolateIniValue(escapeIniInterpolation(value), () => undefined, "w"),
          value,
        );
      }),
    );
  });
});

describe("replaceIniSection", () => {
  it("replaces exactly the named section when the next header follows with no blank line (MLflow's bug)", () => {
    const before = "[DEFAULT]\nhost = old\ntoken = old\n[prod]\nhost = p\ntoken = pt\n";
    const after = replaceIniSection(before, "DEFAULT", ["[DEFAULT]", "host = new", "token = new"]);
    assert.equal(after, "[DEFAULT]\nhost = new\ntoken = new\n\n[prod]\nhost = p\ntoken = pt\n");
  });

  it("replaces a section with a blank line inside it completely (no orphaned keys)", () => {
    const before = "[a]\nhost = old\n\ntoken = old\n\n[b]\nx = 1\n";
    assert.equal(
      replaceIniSection(before, "a", ["[a]", "host = new"]),
      "[a]\nhost = new\n\n[b]\nx = 1\n",
    );
  });

  it("keeps the comment block that introduces the next section, and every other comment", () => {
    const before = "# top\n[a]\n# inside a\nk = v\n\n# about b\n[b]\n# in b\nx = 1\n";
    assert.equal(
      replaceIniSection(before, "a", ["[a]", "k = w"]),
      "# top\n[a]\nk = w\n\n# about b\n[b]\n# in b\nx = 1\n",
    );
  });

  it("prepends a new section, as MLflow does", () => {
    assert.equal(
      replaceIniSection("[b]\nx = 1\n", "a", ["[a]", "k = v"]),
      "[a]\nk = v\n\n[b]\nx = 1\n",
    );
    assert.equal(replaceIniSection("", "a", ["[a]", "k = v"]), "[a]\nk = v\n\n");
  });

  it("matches the header exactly (case-sensitive), including one with surrounding spaces", () => {
    const before = "[Default]\n  [DEFAULT]  \nk = old\n";
    assert.equal(
      replaceIniSection(before, "DEFAULT", ["[DEFAULT]", "k = new"]),
      "[Default]\n[DEFAULT]\nk = new\n\n",
    );
    // Indented below an option, the same text continues that option's value instead.
    const continued = "[a]\nx = 1\n  [DEFAULT]\n";
    assert.equal(
      replaceIniSection(continued, "DEFAULT", ["[DEFAULT]"]),
      `[DEFAULT]\n\n${continued}`,
    );
  });

  it("keeps CRLF line endings and a last line without a newline", () => {
    assert.equal(
      replaceIniSection("[b]\r\nx = 1\r\n[a]\r\nk = v", "a", ["[a]", "k = w"]),
      "[b]\r\nx = 1\r\n[a]\r\nk = w\r\n\r\n",
    );
    assert.equal(replaceIniSection("[b]\nx = 1", "a", ["[a]"]), "[a]\n\n[b]\nx = 1");
  });

  it("leaves every other section byte for byte (property)", () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/);
    const value = fc.stringMatching(/^[!-~]{1,12}$/);
    const section = fc.record({
      name,
      options: fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), value), { maxLength: 3 }),
      blankAfter: fc.boolean(),
      comment: fc.option(fc.stringMatching(/^# [a-z ]{0,10}$/), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(section, { selector: (s) => s.name, minLength: 1, maxLength: 5 }),
        fc.nat(),
        (sections, pick) => {
          const render = (s: (typeof sections)[number]): string =>
            (s.comment ? `${s.comment}\n` : "") +
            `[${s.name}]\n` +
            s.options.map(([k, v]) => `${k} = ${v}\n`).join("") +
            (s.blankAfter ? "\n" : "");
          const target = sections[pick % sections.length]!;
          const text = sections.map(render).join("");
          const out = replaceIniSection(text, target.name, [`[${target.name}]`, "token = NEW"]);
          for (const s of sections) {
            if (s === target) continue;
            const kept = `[${s.name}]\n${s.options.map(([k, v]) => `${k} = ${v}\n`).join("")}`;
            assert.ok(out.includes(kept), `section ${s.name} changed`);
            if (s.comment) assert.ok(out.includes(`${s.comment}\n[${s.name}]`), "comment lost");
          }
          assert.equal(out.split(`[${target.name}]`).length - 1, 1);
          assert.ok(out.includes(`[${target.name}]\ntoken = NEW\n`));
        },
      ),
    );
  });
});
