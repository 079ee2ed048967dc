// Validates rendered manifests offline against Kubernetes' OpenAPI schemas
// and the Prometheus operator's CRD schemas, as carried by npm packages
// pinned in tools/chart/package-lock.json:
//
//   node validate_manifests.cjs --tools DIR (--kube-version 1.25|1.33 FILE...)...
//
// Each FILE is a YAML stream (`helm template` output), validated for the
// --kube-version before it (one process for many files: Node's start-up
// and loading the schemas take most of the time). Every document must have
// a schema: an unknown apiVersion/kind is a failure, not a skip.
//
// 1.25: kubernetes-models 4.1.0 (Kubernetes v1.25.2) and
// @kubernetes-models/prometheus-operator 4.0.0 ship their JSON schemas;
// they are validated strictly: every object schema that lists properties
// gets additionalProperties: false, so an unknown field fails as kubectl's
// strict field validation fails it (types, enums, formats and required
// fields as written).
// 1.33: kubernetes-models 4.5.1 (Kubernetes v1.33.0) ships its schemas
// compiled into validate functions, which check types, enums, formats and
// required fields but let unknown fields through; so a 1.33 document is also
// checked for unknown fields against the strict 1.25 schemas (stable APIs
// never remove a field, so a field unknown to 1.33 is unknown to 1.25).
// The CRDs are checked strictly whatever the version.
//
// Prints one line per error and a summary line per file
// ("FILE: N documents, M invalid (Kubernetes V)"); exits 1 when any
// document is invalid, 2 on bad usage.
"use strict";

const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

function usage(msg) {
  console.error(`validate_manifests: ${msg}\nusage: node validate_manifests.cjs --tools DIR (--kube-version 1.25|1.33 FILE...)...`);
  process.exit(2);
}

const args = process.argv.slice(2);
let toolsDir = "";
let kubeVersion = "";
const files = []; // {file, kubeVersion}
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--tools") toolsDir = args[++i] || "";
  else if (args[i] === "--kube-version") {
    kubeVersion = args[++i] || "";
    if (!["1.25", "1.33"].includes(kubeVersion)) usage(`--kube-version ${JSON.stringify(kubeVersion)}: schemas exist for 1.25 and 1.33`);
  } else if (!kubeVersion) usage(`${args[i]}: no --kube-version before it`);
  else files.push({ file: args[i], kubeVersion });
}
if (!toolsDir) usage("--tools is required");
if (files.length === 0) usage("no files");

const toolsRequire = createRequire(path.join(path.resolve(toolsDir), "package.json"));
const YAML = toolsRequire("yaml");
const Ajv = toolsRequire("ajv");
const addFormats = toolsRequire("ajv-formats");

// Capture the raw schemas the 4.x model packages register, instead of
// letting them into their shared (non-strict) validator.
const validatePkg = toolsRequire("@kubernetes-models/validate");
// The models call base's setSchema through a getter of its index: patch
// the module behind it.
const baseModel = require(path.join(path.dirname(toolsRequire.resolve("@kubernetes-models/base")), "model.js"));
let captured = null;
validatePkg.register = (id, schema) => {
  captured.set(id, schema);
};
let lastSchema = null;
baseModel.setSchema = (model, id, addSchema) => {
  lastSchema = { id, addSchema };
};

// strictify returns a copy of schema where every object schema that lists
// properties and says nothing of additional ones forbids them.
function strictify(schema) {
  if (Array.isArray(schema)) return schema.map(strictify);
  if (schema === null || typeof schema !== "object") return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    // "properties" maps names to schemas: recurse into each, keep the names.
    out[k] = k === "properties" ? Object.fromEntries(Object.entries(v).map(([n, s]) => [n, strictify(s)])) : strictify(v);
  }
  if (out.properties && out.additionalProperties === undefined && !out["x-kubernetes-preserve-unknown-fields"]) {
    out.additionalProperties = false;
  }
  return out;
}

function newAjv() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat("byte", /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  ajv.addFormat("quantity", /^[+-]?(?:\d+|\d+\.\d+|\d+\.|\.\d+)(?:[KMGTPE]i|[YZEPTGMkhdcmunpfazy]|da|[eE][+-]?(?:\d+|\d+\.\d+|\d+\.|\.\d+))?$/);
  ajv.addFormat("int-or-string", true);
  ajv.addFormat("string", true);
  return ajv;
}

// Strict validators from the packages that ship JSON schemas, by
// "apiVersion kind"; null when the package has no such model.
const strictCache = new Map();
const strictAjvs = new Map(); // one per package: schema ids repeat across them
function strictValidator(pkg, apiVersion, kind) {
  const key = `${pkg} ${apiVersion} ${kind}`;
  if (strictCache.has(key)) return strictCache.get(key);
  let v = null;
  let modelPath;
  try {
    modelPath = toolsRequire.resolve(`${pkg}/${apiVersion}/${kind}`);
  } catch (e) {
    modelPath = null;
  }
  if (modelPath) {
    lastSchema = null;
    require(modelPath);
    if (!lastSchema) throw new Error(`${modelPath} registered no schema`);
    if (!strictAjvs.has(pkg)) strictAjvs.set(pkg, newAjv());
    const ajv = strictAjvs.get(pkg);
    captured = new Map();
    lastSchema.addSchema();
    for (const [id, schema] of captured) {
      if (!ajv.getSchema(id)) ajv.addSchema(strictify(schema), id);
    }
    v = ajv.getSchema(lastSchema.id);
  }
  strictCache.set(key, v);
  return v;
}

// The compiled (non-strict) 1.33 validators.
function compiledValidate(apiVersion, kind, doc) {
  let Model;
  try {
    Model = toolsRequire(`kubernetes-models-1.33/${apiVersion}/${kind}`)[kind];
  } catch (e) {
    return null;
  }
  try {
    new Model(doc).validate();
    return [];
  } catch (e) {
    return [e.message];
  }
}

// formatErrors drops what a nullable field's oneOf [schema, null] adds
// around a real error ("must be null", "must match exactly one schema").
function formatErrors(errors) {
  const real = errors.filter((e) => !(e.keyword === "oneOf" || (e.keyword === "type" && e.params.type === "null")));
  return (real.length ? real : errors).map((e) => {
    let msg = `${e.instancePath || "/"}: ${e.message}`;
    if (e.keyword === "additionalProperties") msg = `${e.instancePath || "/"}: unknown field "${e.params.additionalProperty}"`;
    return msg;
  });
}

const crdPkg = "@kubernetes-models/prometheus-operator";
const k125 = "kubernetes-models-1.25";
let anyInvalid = false;
for (const { file, kubeVersion } of files) {
  let failures = 0;
  let documents = 0;
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  docs.forEach((d, i) => {
    if (d.errors.length) {
      console.log(`${file}#${i}: YAML: ${d.errors[0].message}`);
      failures++;
      return;
    }
    const doc = d.toJS();
    if (doc === null || doc === undefined) return;
    documents++;
    const where = `${file}#${i} ${doc.kind}/${doc.metadata && doc.metadata.name}`;
    const { apiVersion, kind } = doc;
    if (typeof apiVersion !== "string" || typeof kind !== "string") {
      console.log(`${where}: no apiVersion or kind`);
      failures++;
      return;
    }
    let errors = [];
    const isCrd = apiVersion.startsWith("monitoring.coreos.com/");
    const strict = strictValidator(isCrd ? crdPkg : k125, apiVersion, kind);
    if (kubeVersion === "1.25" || isCrd) {
      if (!strict) {
        console.log(`${where}: no schema for ${apiVersion} ${kind} in Kubernetes ${kubeVersion}${isCrd ? " (Prometheus operator CRDs)" : ""}`);
        failures++;
        return;
      }
      if (!strict(doc)) errors = formatErrors(strict.errors);
    } else {
      const compiled = compiledValidate(apiVersion, kind, doc);
      if (compiled === null) {
        console.log(`${where}: no schema for ${apiVersion} ${kind} in Kubernetes ${kubeVersion}`);
        failures++;
        return;
      }
      errors = compiled;
      if (strict && !strict(doc)) {
        errors.push(...formatErrors(strict.errors.filter((e) => e.keyword === "additionalProperties")));
      }
    }
    for (const e of errors) console.log(`${where}: ${e} (Kubernetes ${kubeVersion})`);
    if (errors.length) failures++;
  });
  console.log(`${file}: ${documents} documents, ${failures} invalid (Kubernetes ${kubeVersion})`);
  if (failures) anyInvalid = true;
}
process.exit(anyInvalid ? 1 : 0);
