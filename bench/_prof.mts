import { KekManager, encryptSecret } from "../src/index.js";
const kek = await KekManager.create({ passphrase: "x", kekVersion: 1 });
const v = "sk-proj-" + "a".repeat(32);
const t0 = performance.now();
let n = 0;
while (performance.now() - t0 < 4000) {
  for (let i = 0; i < 1000; i++)
    encryptSecret(v, kek, "s-0123456789abcdef0123456789abcdef", "openai-prod");
  n += 1000;
}
console.log(n / 4);
