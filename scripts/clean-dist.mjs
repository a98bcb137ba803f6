#!/usr/bin/env node
// `npm run build` starts from an empty dist/, so a moved or deleted module never ships stale.
import { rmSync } from "node:fs";

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
