// The web page of `lstmkit serve` (index.html): pick a model, predict or generate, inspect the gates,
// see the training curves.
//
// Everything that comes from the server (model names, labels, tags, tokens, generated text, error
// messages) goes into the page as text: textContent, element properties (title, value) or canvas
// text, never as markup. Elements are built with document.createElement and new Option, so a run
// directory named "<img src=x onerror=...>" shows as those characters. The server's
// Content-Security-Policy forbids inline script besides, which is why this is a file.
"use strict";
const $ = (id) => document.getElementById(id);
let models = [], inspection = null;

// The server's warnings about the input (duplicate dates, outliers), as lines under the answer.
function warned(out) {
  return (out.warnings || []).map((w) => `warning: ${w}`);
}

function show(text, isError) {
  $("result").textContent = text;
  $("result").className = isError ? "error" : "";
}

// An element with text content (never parsed as HTML) and properties set as properties.
function element(tag, text, props) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (props) Object.assign(node, props);
  return node;
}

async function call(path, body) {
  const r = await fetch(path, {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)});
  if (!r.ok) { const e = await r.json().catch(() => ({error: r.statusText})); throw new Error(e.error); }
  return r;
}

function current() { return models.find((m) => m.name === $("model").value); }

function onModel() {
  const m = current();
  if (!m) return;
  $("task").textContent = "task: " + m.task;
  $("lm-controls").hidden = m.task !== "lm";
  $("file-input").hidden = !(m.task === "image" || m.task === "forecast");
  $("text-input").hidden = m.task === "image" || m.task === "forecast";
  $("file-hint").textContent = m.task === "image" ? "a square image of a digit, 28x28 or larger" : "a CSV with the training columns";
  $("invert-box").hidden = m.task !== "image";
  $("run").textContent = m.task === "lm" ? "Generate" : "Predict";
  drawCurves(m.name);
}

// The file chosen for an image or forecast model, or an error that says to choose one.
function chosenFile(task) {
  const file = $("file").files[0];
  if (!file) throw new Error(task === "image" ? "choose an image file first (PNG, JPEG, GIF, BMP or WebP of a digit)"
                                              : "choose a CSV file first (with the columns the model was trained on)");
  return file;
}

async function imagePixels(file) {
  if (/\.(npy|npz|idx\d?-ubyte|gz)$/i.test(file.name))
    throw new Error(`${file.name}: the page reads image files (PNG, JPEG, GIF, BMP, WebP); ` +
                    "give arrays and IDX files to `lstmkit predict RUN --data FILE` or the Python API");
  const img = new Image();
  img.src = URL.createObjectURL(file);
  try { await img.decode(); } catch (e) {
    throw new Error(`${file.name} is not an image this browser can read; choose a PNG, JPEG, GIF, BMP or WebP file`);
  } finally { URL.revokeObjectURL(img.src); }
  const w = img.naturalWidth, h = img.naturalHeight;
  if (w < 28 || h < 28 || Math.max(w, h) > 1.25 * Math.min(w, h))      // as the CLI: no stretching a strip
    throw new Error(`${file.name} is ${w}x${h}; the model reads a square image of a digit, 28x28 or larger: crop it`);
  const c = document.createElement("canvas"); c.width = 28; c.height = 28;
  const g = c.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, 28, 28);   // transparency on white, as the CLI reads it (not all 0)
  g.drawImage(img, 0, 0, 28, 28);
  const d = g.getImageData(0, 0, 28, 28).data, rows = [];
  for (let y = 0; y < 28; y++) {
    const row = [];
    for (let x = 0; x < 28; x++) { const i = 4 * (28 * y + x); row.push((d[i] + d[i + 1] + d[i + 2]) / 3); }
    rows.push(row);
  }
  return rows;
}

// The records of a CSV text (RFC 4180: quoted fields may hold the delimiter, "" and line breaks).
function csvRecords(text, delimiter) {
  const records = [];
  let record = [], field = "", quoted = false, i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (ch === '"') quoted = false; else field += ch;
      i++; continue;
    }
    if (ch === '"' && field === "") quoted = true;
    else if (ch === delimiter) { record.push(field); field = ""; }
    else if (ch === "\n" || ch === "\r") {
      record.push(field); records.push(record); record = []; field = "";
      if (ch === "\r" && text[i + 1] === "\n") i++;
    } else field += ch;
    i++;
  }
  if (quoted) throw new Error("a quoted field is never closed (a \" without its partner)");
  if (field !== "" || record.length) { record.push(field); records.push(record); }
  return records.filter((r) => !(r.length === 1 && r[0].trim() === ""));   // blank lines
}

// A number as the CLI reads one: decimal only (JavaScript's +v also reads "0x10" and "0b1").
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

// The columns of a CSV file, as the server's "data" field: numbers where a cell is a finite
// number, the cell's text otherwise (dates, or a bad value the server names).
async function csvColumns(file) {
  if (file.type.startsWith("image/") || /\.(png|jpe?g|gif|bmp|webp|npy|npz|gz|zip)$/i.test(file.name))
    throw new Error(`${file.name} is not a CSV file; a forecaster reads a CSV with the columns it was trained on`);
  const text = (await file.text()).replace(/^\uFEFF/, "");
  if (text.includes("\u0000") || text.includes("\uFFFD"))
    throw new Error(`${file.name} is not UTF-8 text; save it as a UTF-8 CSV`);
  const first = text.slice(0, text.search(/\r?\n|$/));
  const delimiter = [",", ";", "\t", "|"].reduce((b, d) => (first.split(d).length > first.split(b).length ? d : b), ",");
  const records = csvRecords(text, delimiter);
  if (records.length < 2) throw new Error(`${file.name} has no rows under its header`);
  const head = records[0].map((h) => h.trim()), cols = Object.create(null);   // no inherited names ("toString")
  head.forEach((h, k) => {
    if (!h) throw new Error(`${file.name}: column ${k + 1} of the header has no name`);
    if (Object.hasOwn(cols, h)) throw new Error(`${file.name}: the header names column "${h}" twice`);
    cols[h] = [];
  });
  records.slice(1).forEach((r, n) => {
    if (r.length !== head.length)
      throw new Error(`${file.name}: row ${n + 2} has ${r.length} fields where the header has ${head.length}`);
    r.forEach((v, k) => cols[head[k]].push(DECIMAL.test(v) && Number.isFinite(+v) ? +v : v));
  });
  return {...cols};
}

// The value of a number field, or undefined (the server's default) when it is empty.
function numberField(id, name) {
  const box = $(id);
  if (box.validity && box.validity.badInput) throw new Error(`${name} must be a number`);
  if (box.value.trim() === "") return undefined;
  const v = +box.value;
  if (!Number.isFinite(v)) throw new Error(`${name} must be a number, not "${box.value}"`);
  return v;
}

let runs = 0;                      // each click's number: an older stream stops writing when a newer one starts

async function run() {
  const m = current(), mine = ++runs;
  show("...");
  try {
    if (m.task === "lm") {
      const r = await call("/generate", {model: m.name, prefix: $("text").value, length: numberField("length", "length"),
        temperature: numberField("temperature", "temperature"), top_k: numberField("topk", "top-k"),
        seed: numberField("seed", "seed")});       // an empty box is left out: the server's default
      const reader = r.body.getReader(), dec = new TextDecoder();
      let text = "";
      for (;;) {
        if (mine !== runs) { reader.cancel(); return; }
        const {done, value} = await reader.read(); if (done) break;
        text += dec.decode(value, {stream: true}); show(text);
      }
      return;
    }
    let body = {model: m.name};
    if (m.task === "image") {
      body.images = [await imagePixels(chosenFile(m.task))];
      if ($("invert").checked) body.invert = true;
    } else if (m.task === "forecast") body.data = await csvColumns(chosenFile(m.task));
    else body.texts = $("text").value.split("\n").filter((t) => t.trim());
    const out = await (await call("/predict", body)).json();
    if (mine !== runs) return;
    show(out.results.map((r) => {                                // plain text for textContent
      if (m.task === "classify") return `${r.label}  (${(100 * r.probability).toFixed(1)}%)  ${r.text}`;
      if (m.task === "tag") return r.map((p) => `${p.word}/${p.tag}`).join(" ");
      if (m.task === "image") return `digit ${r.label}  (${(100 * r.probability).toFixed(1)}%)`;
      return JSON.stringify(r);
    }).concat(warned(out)).join("\n"));
  } catch (e) { if (mine === runs) show(e.message, true); }
}

function colour(v, gate) {
  if (gate) { const t = Math.max(0, Math.min(1, v)); return [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))]; }
  const t = Math.max(-1, Math.min(1, v));
  return t >= 0 ? [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))]
                : [Math.round(255 * (1 + t)), Math.round(255 * (1 + t)), 255];
}

function heatmap(name, values, neurons, tokens) {
  // values: T x H; drawn as neurons (rows) x tokens (columns)
  const cell = 14, c = document.createElement("canvas");
  c.width = tokens.length * cell; c.height = neurons.length * cell; c.className = "heat";
  c.dataset.quantity = name;
  const g = c.getContext("2d"), gate = !["h", "c", "g", "n"].includes(name);
  neurons.forEach((n, row) => tokens.forEach((_, t) => {
    const [r, gr, b] = colour(values[t][n], gate);
    g.fillStyle = `rgb(${r},${gr},${b})`; g.fillRect(t * cell, row * cell, cell, cell);
  }));
  c.onmousemove = (ev) => {
    const t = Math.floor(ev.offsetX / cell), row = Math.floor(ev.offsetY / cell);
    if (t < tokens.length && row < neurons.length)
      tip(ev, `${name}[neuron ${neurons[row]}] at "${tokens[t]}": ${values[t][neurons[row]].toFixed(3)}`);
  };
  c.onmouseleave = () => ($("tooltip").style.display = "none");
  return c;
}

const NAMES = {h: "hidden state h", c: "cell state c", i: "input gate i", f: "forget gate f",
  g: "cell candidate g", o: "output gate o", r: "reset gate r", z: "update gate z", n: "candidate n"};

function drawInspection() {
  const L = inspection.layers[+$("layer").value], box = $("heatmaps");
  box.replaceChildren();
  $("tokens").replaceChildren(...inspection.tokens.map((t, i) =>
    element("span", t, inspection.tags ? {title: String(inspection.tags[i])} : undefined)));
  const neurons = L.top_neurons.concat([...L.h[0].keys()].filter((n) => !L.top_neurons.includes(n))).slice(0, 32);
  for (const name of ["h", ...(L.c ? ["c"] : []), ...L.gates]) {
    box.append(element("div", `${NAMES[name]} (rows: ${neurons.length} neurons, top by mean |h| first; columns: tokens)`));
    box.append(heatmap(name, L[name], neurons, inspection.tokens));
  }
  $("neurons").replaceChildren("top neurons: ", ...L.top_neurons.map((n, k) => {
    const s = element("span", `${n} (${L.top_strength[k].toFixed(3)})`, {className: "neuron"});
    s.onclick = () => drawTrace(L, n);
    return s;
  }));
}

function drawTrace(L, n) {
  const c = $("trace"), g = c.getContext("2d"), T = inspection.tokens.length;
  c.hidden = false; g.clearRect(0, 0, c.width, c.height);
  const x = (t) => 40 + (t * (c.width - 60)) / Math.max(1, T - 1), y = (v) => c.height / 2 - v * (c.height / 2 - 20);
  g.strokeStyle = "#ccc"; g.beginPath(); g.moveTo(40, y(0)); g.lineTo(c.width - 20, y(0)); g.stroke();
  for (const [name, col] of [["h", "#1565c0"], ["c", "#c62828"]]) {
    if (!L[name]) continue;
    g.strokeStyle = col; g.beginPath();
    L[name].forEach((row, t) => (t ? g.lineTo(x(t), y(Math.max(-1, Math.min(1, row[n])))) : g.moveTo(x(t), y(row[n]))));
    g.stroke();
  }
  g.fillStyle = "#222"; g.fillText(`neuron ${n}: h (blue), c (red, clipped to [-1, 1]) across the text`, 40, 12);
  inspection.tokens.forEach((tok, t) => g.fillText(tok, x(t) - 3, c.height - 4));
}

async function inspect() {
  const m = current();
  try {
    const body = {model: m.name};
    if (m.task === "image") {
      body.images = [await imagePixels(chosenFile(m.task))];
      if ($("invert").checked) body.invert = true;              // as Run does: the same image, the same answer
    } else if (m.task === "forecast") body.data = await csvColumns(chosenFile(m.task));
    else body.text = $("text").value;
    inspection = await (await call("/inspect", body)).json();
  } catch (e) {
    $("heatmaps").replaceChildren(); $("tokens").replaceChildren(); $("neurons").replaceChildren();
    show(e.message, true); return;                                   // not the last model's panels
  }
  $("layer").replaceChildren(...inspection.layers.map((L, k) => new Option(`layer ${L.layer}, ${L.direction}`, String(k))));
  const said = inspection.prediction ? `${inspection.prediction.label} (${(100 * inspection.prediction.probability).toFixed(1)}%)`
    : inspection.tags ? inspection.tokens.map((t, i) => `${t}/${inspection.tags[i]}`).join(" ")
    : `inspected ${inspection.tokens.length} steps`;
  show([said, ...warned(inspection)].join("\n"));
  drawInspection();
}

function tip(ev, text) {
  const t = $("tooltip");
  t.textContent = text; t.style.left = ev.clientX + 12 + "px"; t.style.top = ev.clientY + 12 + "px"; t.style.display = "block";
}

async function drawCurves(name) {
  const c = $("curves"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const rows = await (await fetch(`/runs/${encodeURIComponent(name)}/metrics`)).json();
  if (!Array.isArray(rows) || !rows.length) { g.fillText("no metrics.json in this run", 40, 20); return; }
  const keys = Object.keys(rows[0]).filter((k) => /^(train_loss|valid_loss|valid_acc|valid_mse|valid_ppl)$/.test(k));
  const colours = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00"], points = [];
  keys.forEach((k, j) => {
    const vals = rows.map((r) => r[k]).filter((v) => v !== null), lo = Math.min(...vals), hi = Math.max(...vals);
    const x = (e) => 50 + ((e - 1) * (c.width - 80)) / Math.max(1, rows.length - 1);
    const y = (v) => c.height - 30 - ((v - lo) / (hi - lo || 1)) * (c.height - 60);
    g.strokeStyle = colours[j % 5]; g.beginPath();
    rows.forEach((r, t) => { if (r[k] === null) return; t ? g.lineTo(x(r.epoch), y(r[k])) : g.moveTo(x(r.epoch), y(r[k]));
      points.push({x: x(r.epoch), y: y(r[k]), text: `epoch ${r.epoch}: ${k} ${r[k].toFixed(4)}`}); });
    g.stroke(); g.fillStyle = colours[j % 5]; g.fillText(`${k} (${lo.toFixed(3)} to ${hi.toFixed(3)})`, 50 + 190 * j, 14);
  });
  g.fillStyle = "#222"; g.fillText("epoch", c.width - 60, c.height - 8);
  c.onmousemove = (ev) => {
    const near = points.reduce((b, p) => (Math.hypot(p.x - ev.offsetX, p.y - ev.offsetY) < Math.hypot(b.x - ev.offsetX, b.y - ev.offsetY) ? p : b), points[0]);
    if (near && Math.hypot(near.x - ev.offsetX, near.y - ev.offsetY) < 12) tip(ev, near.text); else $("tooltip").style.display = "none";
  };
}

async function start() {
  models = await (await fetch("/models")).json();
  $("model").replaceChildren(...models.map((m) => new Option(`${m.name} (${m.task})`, m.name)));
  $("model").onchange = onModel; $("run").onclick = run; $("inspect").onclick = inspect;
  $("layer").onchange = drawInspection;
  onModel();
}
start();
