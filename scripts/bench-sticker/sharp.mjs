// The same conversion with sharp (libvips): fit into 512x512 keeping the aspect, transparent
// padding, lossy WebP at quality 80. `node sharp.mjs DIR [RUNS] [CONCURRENCY]`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";

const [dir, runsArg = "30", concurrency] = process.argv.slice(2);
const runs = Number(runsArg);
if (concurrency) sharp.concurrency(Number(concurrency));
sharp.cache(false);

const convert = (input) =>
  sharp(input)
    .resize(512, 512, { fit: "contain", background: { r: 0, g: 0, b: 0, alpha: 0 }, kernel: "lanczos3" })
    .webp({ quality: 80 })
    .toBuffer();

for (const name of ["1024x1024.png", "4000x3000.jpg"]) {
  const input = readFileSync(join(dir, name));
  const first = await convert(input);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await convert(input);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(
    `sharp (threads ${sharp.concurrency()}) ${name}: median ${times[Math.floor(times.length / 2)].toFixed(1)} ms, min ${times[0].toFixed(1)} ms (${runs} runs, ${first.length} bytes)`,
  );
}
