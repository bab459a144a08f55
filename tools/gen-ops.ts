// Generates src/tensor/ops.gen.ts: one typed TypeScript function per ATen operator we use, from the operator
// schemas that the linked libtorch reports (tch-rs's gen.ml does the same from Declarations.yaml).
//
//   npm run build && node dist/tools/gen-ops.js            # rewrite src/tensor/ops.gen.ts
//   node dist/tools/gen-ops.js --check                     # exit 1 if the file is out of date (CI)
//
// Naming rule, in one place: `aten::conv2d` → conv2d, `aten::conv2d.padding` → conv2dPadding,
// `aten::add_.Tensor` → add_Tensor (a trailing `_` marks an in-place op).
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { native, packageRoot } from "../src/native/load.js";

// The operators lastframe exposes. A new op means adding its name here and regenerating, never editing C++.
const OPS = `
zeros ones full empty.memory_format arange.start_step linspace eye randn rand randint.low randperm
zeros_like ones_like full_like randn_like rand_like empty_like
add.Tensor add.Scalar sub.Tensor sub.Scalar mul.Tensor mul.Scalar div.Tensor div.Scalar div.Tensor_mode
remainder.Scalar pow.Tensor_Scalar pow.Tensor_Tensor pow.Scalar neg exp log log1p expm1 sqrt rsqrt abs square sign
floor ceil round sin cos reciprocal maximum minimum clamp clamp.Tensor lerp.Scalar atan2 erf erfinv
relu gelu silu sigmoid tanh softplus leaky_relu elu log_sigmoid hardtanh
add_.Tensor add_.Scalar sub_.Tensor mul_.Tensor mul_.Scalar div_.Scalar div_.Tensor addcmul_ addcdiv_ lerp_.Scalar
copy_ zero_ fill_.Scalar clamp_ normal_ uniform_ requires_grad_
matmul mm bmm baddbmm linear addmm einsum t outer linalg_eigh linalg_vector_norm cdist dot
conv2d conv_transpose2d.input conv3d avg_pool2d max_pool2d adaptive_avg_pool2d
upsample_nearest2d.vec upsample_bilinear2d.vec constant_pad_nd reflection_pad2d replication_pad2d
affine_grid_generator grid_sampler pixel_shuffle pixel_unshuffle
group_norm layer_norm batch_norm
softmax.int log_softmax.int cross_entropy_loss mse_loss binary_cross_entropy_with_logits dropout
sum sum.dim_IntList mean mean.dim max max.dim min min.dim amax amin var.correction std.correction prod
logsumexp cumsum argmax argmin topk sort argsort all any all.dim any.dim
reshape view permute transpose.int flatten.using_ints unflatten.int cat stack chunk split.Tensor split_with_sizes
narrow unbind.int index_select gather scatter.src scatter.value scatter_add index.Tensor index_put expand repeat
squeeze squeeze.dim unsqueeze contiguous clone detach flip roll select.int slice.Tensor tril triu
masked_fill.Scalar where.self embedding one_hot movedim.int unfold diagonal diag_embed trace
eq.Tensor eq.Scalar ne.Tensor ne.Scalar lt.Tensor lt.Scalar le.Tensor le.Scalar gt.Tensor gt.Scalar ge.Tensor
ge.Scalar logical_and logical_or logical_not isnan isfinite isinf
to.dtype to.dtype_layout item multinomial bernoulli.p bernoulli nonzero masked_select
_foreach_mul_.Scalar _foreach_add_.List _foreach_add_.Scalar _foreach_add.List _foreach_addcmul_.Scalar
_foreach_addcdiv_.Scalar _foreach_sqrt _foreach_div_.Scalar _foreach_norm.Scalar
`;

interface Param {
  name: string;
  type: string; // schema type, e.g. "Tensor?", "int[2]", "SymInt[]?"
  hasDefault: boolean;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(" || ch === "[") depth++;
    if (ch === ")" || ch === "]") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function parseSchema(schema: string): { params: Param[]; returns: string[] } {
  const open = schema.indexOf("(");
  const arrow = schema.lastIndexOf(") -> ");
  const params: Param[] = [];
  for (const part of splitTopLevel(schema.slice(open + 1, arrow))) {
    if (part === "*") continue;
    const eq = part.indexOf("=");
    const decl = eq >= 0 ? part.slice(0, eq) : part;
    const sp = decl.lastIndexOf(" ");
    params.push({
      name: decl.slice(sp + 1),
      type: decl.slice(0, sp).replace(/\([a-z!*> -]+\)/g, ""),
      hasDefault: eq >= 0,
    });
  }
  let ret = schema.slice(arrow + 5).trim();
  if (ret.startsWith("(")) ret = ret.slice(1, -1);
  const returns = ret ? splitTopLevel(ret).map((r) => r.replace(/\([a-z!*> -]+\)/g, "").split(" ")[0]!) : [];
  return { params, returns };
}

function tsType(type: string): { ts: string; conv: (v: string) => string } {
  const optional = type.endsWith("?") && !type.endsWith("[]?") ? true : type.endsWith("]?");
  const base = optional ? type.slice(0, -1) : type;
  const nullable = (ts: string) => (optional ? `${ts} | null` : ts);
  const list = /\[\d*\]$/.test(base);
  const fixed = /\[\d+\]$/.test(base);
  const elem = base.replace(/\[\d*\]$/, "");
  if (list) {
    if (elem === "Tensor") return { ts: nullable("Tensor[]"), conv: (v) => `handles(${v})` };
    if (elem === "Tensor?") return { ts: "(Tensor | null)[]", conv: (v) => `optHandles(${v})` };
    if (elem === "int" || elem === "SymInt" || elem === "float")
      return { ts: nullable(fixed ? "number | number[]" : "number[]"), conv: (v) => v };
    if (elem === "bool") return { ts: nullable("boolean[]"), conv: (v) => v };
  }
  switch (base) {
    case "Tensor":
      return optional
        ? { ts: "Tensor | null", conv: (v) => `optHandle(${v})` }
        : { ts: "Tensor", conv: (v) => `${v}.handle` };
    case "int":
    case "SymInt":
    case "float":
    case "Layout":
    case "MemoryFormat":
      return { ts: nullable("number"), conv: (v) => v };
    case "Scalar":
      return { ts: nullable("number | boolean"), conv: (v) => v };
    case "bool":
      return { ts: nullable("boolean"), conv: (v) => v };
    case "ScalarType":
      return { ts: nullable("DType"), conv: (v) => `optDtype(${v})` };
    case "str":
    case "Device":
      return { ts: nullable("string"), conv: (v) => v };
    case "Generator":
      return { ts: "null", conv: () => "null" };
  }
  throw new Error(`gen-ops: no TypeScript type for schema type ${type}`);
}

function returnType(returns: string[]): { ts: string; conv: (v: string) => string } {
  const one = (r: string): { ts: string; conv: (v: string) => string } => {
    if (r === "Tensor") return { ts: "Tensor", conv: (v) => `wrap(${v} as Handle)` };
    if (r === "Tensor[]") return { ts: "Tensor[]", conv: (v) => `(${v} as Handle[]).map(wrap)` };
    if (r === "int" || r === "float" || r === "Scalar" || r === "SymInt")
      return { ts: "number", conv: (v) => `${v} as number` };
    if (r === "bool") return { ts: "boolean", conv: (v) => `${v} as boolean` };
    throw new Error(`gen-ops: no TypeScript type for return type ${r}`);
  };
  if (returns.length === 0) return { ts: "void", conv: () => "" };
  if (returns.length === 1) return one(returns[0]!);
  const parts = returns.map(one);
  return {
    ts: `[${parts.map((p) => p.ts).join(", ")}]`,
    conv: (v) => `[${parts.map((p, i) => p.conv(`(${v} as unknown[])[${i}]`)).join(", ")}]`,
  };
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const RESERVED = new Set(["default", "function", "var", "new", "delete", "in", "with", "class", "return"]);

function fnName(name: string, overload: string): string {
  // A leading `_` (ATen's internal ops, e.g. `_foreach_mul_`) stays: `_foreachMul_Scalar`.
  const lead = name.startsWith("_") ? "_" : "";
  const core = name.slice(lead.length);
  const inplace = core.endsWith("_");
  const base = lead + camel(inplace ? core.slice(0, -1) : core) + (inplace ? "_" : "");
  if (!overload) return base;
  return (
    base +
    camel(overload)
      .replace(/^./, (c) => c.toUpperCase())
      .replace(/_/g, "")
  );
}

function generate(): string {
  const lines = [
    "// generated by tools/gen-ops.ts — do not edit",
    "// One function per ATen operator, arguments in schema order; omitted arguments take the schema's defaults.",
    "/* eslint-disable */",
    'import type { Handle } from "../native/binding.js";',
    'import type { DType } from "./dtype.js";',
    'import { type Tensor, callOp, wrap, handles, optHandle, optHandles, optDtype } from "./call.js";',
    "",
  ];
  let index = 0;
  for (const spec of OPS.trim().split(/\s+/)) {
    const [name, overload = ""] = spec.split(".") as [string, string?];
    const id = native.resolveOp(`aten::${name}`, overload);
    const schema = native.schema(id);
    const { params, returns } = parseSchema(schema);
    const ret = returnType(returns);
    let firstDefault = params.length;
    for (let i = params.length - 1; i >= 0; i--) {
      const p = params[i]!;
      if (p.hasDefault || p.type.endsWith("?")) firstDefault = i;
      else break;
    }
    const sig = params.map((p, i) => {
      const n = RESERVED.has(p.name) ? p.name + "_" : p.name;
      return `${n}${i >= firstDefault ? "?" : ""}: ${tsType(p.type).ts}`;
    });
    const args = params.map((p, i) => {
      const n = RESERVED.has(p.name) ? p.name + "_" : p.name;
      const conv = tsType(p.type).conv(n);
      return conv === n || i < firstDefault ? conv : `${n} === undefined ? undefined : ${conv}`;
    });
    const call = `callOp(${index}, "aten::${name}", "${overload}", [${args.join(", ")}])`;
    lines.push(`/** ${schema} */`);
    lines.push(`export function ${fnName(name, overload)}(${sig.join(", ")}): ${ret.ts} {`);
    if (ret.ts === "void") lines.push(`  ${call};`);
    else if (returns.length > 1) lines.push(`  const r = ${call};`, `  return ${ret.conv("r")};`);
    else lines.push(`  return ${ret.conv(call)};`);
    lines.push("}", "");
    index++;
  }
  lines.push(`export const opCount = ${index};`, "");
  return lines.join("\n");
}

const target = resolve(packageRoot, "src/tensor/ops.gen.ts");
const text = generate();
if (process.argv.includes("--check")) {
  if (readFileSync(target, "utf8") !== text) {
    console.error("src/tensor/ops.gen.ts is out of date: run `npm run build && node dist/tools/gen-ops.js`");
    process.exit(1);
  }
  console.log("src/tensor/ops.gen.ts is up to date");
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
