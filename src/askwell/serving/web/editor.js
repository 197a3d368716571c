// The askwell editor: scores the question as it is typed and shows why.
// Every piece of user or server text goes into the page through textContent or
// createTextNode, never as HTML: a question may well contain "<script>".

const DEBOUNCE_MS = 500; // long enough not to score every keystroke, short enough to feel live
const MAX_TAGS = 5; // the sites allow five
const NEUTRAL = 0.005; // a sentence moving the score by under half a point has little effect
const STRONG = 0.05; // five points or more: full colour

const $ = (id) => document.getElementById(id);
const ui = {
  form: $("question"), title: $("title"), body: $("body"), tags: $("tags"),
  bodyNote: $("body-note"), chips: $("tag-chips"), tagsNote: $("tags-note"), status: $("status"),
  degraded: $("degraded"), results: $("results"), gauge: $("gauge-fill"),
  scoreValue: $("score-value"), scoreCaption: $("score-caption"), band: $("band"),
  evidence: $("evidence"), answer: $("answer-chance"), review: $("review"), helping: $("helping"), hurting: $("hurting"),
  suggestions: $("suggestions"), noSuggestions: $("no-suggestions"),
  overall: $("overall-feedback"), model: $("model"), intro: $("intro"),
  reading: $("reading"), prose: $("prose"), weakest: $("weakest"),
};

// One editing session per page load: the server links successive scores as revisions.
const SESSION_ID = newSessionId();
let latest = 0; // number of the latest score request: older answers are dropped
let inflight = null; // its AbortController
let timer = 0;
let current = null; // the score on screen (its request_id is what feedback refers to)

function newSessionId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; getRandomValues does not.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0")).join("");
}

// Creates an element with a class and text (as text, never markup).
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function readTags() {
  const all = ui.tags.value.split(/[\s,]+/).filter(Boolean);
  return { tags: all.slice(0, MAX_TAGS), dropped: all.length - MAX_TAGS };
}

function showTags() {
  const { tags, dropped } = readTags();
  ui.chips.replaceChildren(...tags.map((t) => el("li", "chip", t)));
  ui.tagsNote.hidden = dropped <= 0;
  ui.tagsNote.textContent = dropped > 0 ? `Only the first ${MAX_TAGS} tags count.` : "";
}

function schedule() {
  showTags();
  clearTimeout(timer);
  timer = setTimeout(scoreNow, DEBOUNCE_MS);
}

async function scoreNow() {
  clearTimeout(timer);
  const title = ui.title.value, body = ui.body.value;
  const request = ++latest;
  inflight?.abort();
  if (!title.trim() || !body.trim()) { // the API refuses blanks: do not ask
    inflight = null;
    reset("Write a title and a body to get a score.");
    return;
  }
  inflight = new AbortController();
  setStatus("Scoring…", "busy");
  try {
    const response = await fetch("/v1/score", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ title, body, tags: readTags().tags, session_id: SESSION_ID }),
      signal: inflight.signal,
    });
    const data = await response.json().catch(() => ({}));
    if (request !== latest) return; // a newer request was sent meanwhile
    if (!response.ok) {
      ui.results.dataset.stale = "true"; // what is on screen scored an earlier text
      const why = data.detail ? `Cannot score this yet: ${data.detail}` : `Scoring failed (HTTP ${response.status}).`;
      setStatus(why, "error");
      return;
    }
    render(data);
    if (data.logged) setStatus("");
    else setStatus("Scored, but not saved: feedback on this score cannot be recorded.", "error");
  } catch (error) {
    if (error.name === "AbortError" || request !== latest) return;
    ui.results.dataset.stale = "true";
    setStatus(`Could not reach askwell (${error.message}). Your text is still here; keep editing to retry.`, "error");
  }
}

// The status line stays in the page even when empty (CSS takes it out of the flow): a live
// region that is hidden and shown again is not reliably announced.
function setStatus(text, kind = "") {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
}

function reset(message) {
  current = null;
  ui.results.hidden = true;
  ui.intro.hidden = false;
  delete ui.results.dataset.requestId;
  ui.reading.hidden = true;
  ui.degraded.hidden = true;
  showExtent(null);
  setStatus(message);
}

// A long question is scored from its start only (the server's limits): say so under the
// body, never silently. The note is the server's, in words.
function showExtent(extent) {
  const note = extent && !extent.complete ? extent.note : "";
  ui.bodyNote.textContent = note || "";
  ui.bodyNote.hidden = !note;
}

const pct = (p) => `${Math.round(p * 100)}%`;
const points = (d) => `${d >= 0 ? "+" : "−"}${Math.abs(d * 100).toFixed(1)} points`;

// The model's label in words: [after "Of questions scored like this, 90% …", after "chance …"].
const OUTCOMES = {
  good_answer_within_7d: ["got a good answer within 7 days", "of a good answer within 7 days"],
  answered: ["got an answer", "of getting an answer"],
  accepted: ["got an accepted answer", "of an accepted answer"],
  score_positive: ["got a positive score", "of a positive score"],
  score_above_median: ["scored above their site's median", "of scoring above the site's median"],
  score_above_cohort_median: ["scored above their site's median for the quarter",
    "of scoring above the site's median for the quarter"],
};
const outcome = (label) => OUTCOMES[label] || [`had the outcome “${label}”`, `of “${label}”`];

const BANDS = {
  "likely well received": { kind: "good", mark: "✓" },
  uncertain: { kind: "mid", mark: "~" },
  "likely to struggle": { kind: "bad", mark: "!" },
  // The headline, from the closing risk.
  "ready to post": { kind: "good", mark: "✓" },
  "needs work": { kind: "mid", mark: "~" },
  "likely to be closed": { kind: "bad", mark: "!" },
};
const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function render(data) {
  current = data;
  ui.results.hidden = false;
  ui.intro.hidden = true;
  ui.results.dataset.requestId = data.request_id; // which score is on screen (tests wait on it)
  delete ui.results.dataset.stale;
  ui.degraded.hidden = !data.degraded;
  renderScore(data);
  renderFactors(ui.helping, data.helping, "helps");
  renderFactors(ui.hurting, data.hurting, "hurts");
  renderSuggestions(data.suggestions);
  renderProse(data.prose, data.highlights);
  showExtent(data.extent);
  resetAck(ui.overall);
  ui.model.textContent =
    `Model: ${data.model.name} · ${data.model.version}` +
    (data.model.closing_version ? ` · closing model: ${data.model.closing_version}` : "") +
    ` · scored in ${Math.round(data.latency_ms)} ms`;
}

function renderScore(data) {
  const band = BANDS[data.verdict] || { kind: "mid", mark: "?" };
  ui.gauge.dataset.kind = band.kind;
  ui.band.dataset.kind = band.kind;
  ui.band.replaceChildren(el("span", "band-mark", band.mark), document.createTextNode(capital(data.verdict)));
  const [past, chance] = outcome(data.model.label);
  const { band_good_rate: rate, base_rate: base, review } = data.confidence;
  const closing = data.closing;
  if (closing) {
    // The headline: the risk of being closed, shown against a typical question's (the gauge
    // is full at five times that rate: past it, a question is almost surely closed).
    const full = 5 * closing.live_rate;
    ui.gauge.setAttribute("stroke-dasharray", `${(Math.min(data.closing_risk / full, 1) * 100).toFixed(1)} 100`);
    ui.scoreValue.textContent = pct(data.closing_risk);
    ui.scoreCaption.textContent = `risk of being closed (a typical question: ${pct(closing.live_rate)})`;
    const top = closing.reasons[0];
    ui.evidence.textContent = `Of questions judged like this, ${pct(closing.closed_rate)} were closed.` +
      (top ? ` If it were closed, most likely as “${top.reason}” (${pct(top.probability)}).` : "");
    ui.evidence.hidden = false;
    // The answer model's own uncertainty is said here, not as a doubt about the headline.
    ui.answer.textContent = `Chance ${chance}: ${pct(data.score)}` +
      (rate == null ? "." : ` (of questions scored like this, ${pct(rate)} ${past})`) +
      (review ? "; uncertain, small edits can move it." : rate == null ? "" : ".");
    ui.answer.hidden = false;
  } else {
    ui.gauge.setAttribute("stroke-dasharray", `${(data.score * 100).toFixed(1)} 100`);
    ui.scoreValue.textContent = pct(data.score);
    // The fallback's score is points turned into a number, not a calibrated chance.
    ui.scoreCaption.textContent = data.degraded ? "rough, rule-based estimate" : `chance ${chance}`;
    ui.evidence.textContent = rate == null ? ""
      : `Of questions scored like this, ${pct(rate)} ${past}` +
        (base == null ? "." : ` (all questions: ${pct(base)}).`);
    ui.evidence.hidden = rate == null;
    ui.answer.hidden = true;
  }
  ui.review.hidden = !review || Boolean(closing);
}

function renderFactors(list, given, kind) {
  // One row a group: the fallback can name a group twice (two rules of one group fired).
  const merged = new Map();
  for (const f of given) merged.set(f.group, (merged.get(f.group) || 0) + f.push);
  const factors = [...merged].map(([group, push]) => ({ group, push }))
    .sort((a, b) => Math.abs(b.push) - Math.abs(a.push));
  const top = Math.max(...factors.map((f) => Math.abs(f.push)), 1e-9);
  list.replaceChildren(...factors.map((f) => {
    const share = Math.abs(f.push) / top;
    const item = el("li", "factor");
    const bar = el("span", `bar ${kind}`);
    bar.style.setProperty("--share", share.toFixed(3));
    bar.setAttribute("aria-hidden", "true");
    const strength = share > 0.66 ? "strongly" : share > 0.33 ? "moderately" : "slightly";
    item.append(el("span", "factor-name", f.group), bar, el("span", "visually-hidden", ` (${strength})`));
    return item;
  }));
  if (!factors.length) list.append(el("li", "empty", "Nothing notable."));
}

function renderSuggestions(suggestions) {
  ui.noSuggestions.hidden = suggestions.length > 0;
  ui.suggestions.replaceChildren(...suggestions.map((s, i) => {
    const item = el("li", "suggestion");
    item.dataset.id = s.id;
    const message = el("p", "message", s.message);
    message.id = `suggestion-${i}`;
    const meta = el("div", "meta");
    meta.append(el("span", "effect", points(s.effect)));
    if (s.editable) meta.append(el("span", "quick", "quick fix"));
    item.append(message, meta, feedbackControls(s.id, message.id));
    return item;
  }));
}

// Helpful / not helpful buttons and the live region that acknowledges a click.
function feedbackControls(suggestionId, describedBy) {
  const box = el("div", "feedback");
  for (const [helpful, label] of [[true, "Helpful"], [false, "Not helpful"]]) {
    const button = el("button", "fb", label);
    button.type = "button";
    button.dataset.helpful = String(helpful);
    button.dataset.suggestion = suggestionId;
    button.setAttribute("aria-describedby", describedBy);
    box.append(button);
  }
  const ack = el("span", "ack");
  ack.setAttribute("role", "status");
  ack.setAttribute("aria-live", "polite");
  box.append(ack);
  return box;
}

function resetAck(box) {
  box.querySelector(".ack").textContent = "";
  box.querySelectorAll("button").forEach((b) => b.removeAttribute("aria-pressed"));
}

async function sendFeedback(button) {
  const box = button.closest(".feedback"), ack = box.querySelector(".ack");
  if (!current || box.dataset.busy) return; // one answer at a time, no double clicks
  const payload = { request_id: current.request_id, helpful: button.dataset.helpful === "true" };
  if (button.dataset.suggestion) payload.suggestion_id = button.dataset.suggestion;
  box.dataset.busy = "true"; // not `disabled`: that would drop a keyboard user's focus
  ack.dataset.kind = "";
  ack.textContent = "Sending…";
  try {
    const response = await fetch("/v1/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || `HTTP ${response.status}`);
    box.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    ack.textContent = "Thanks — noted";
  } catch (error) {
    ack.dataset.kind = "error"; // the person must know it was not stored
    ack.textContent = `Not saved: ${error.message}`;
  } finally {
    delete box.dataset.busy;
  }
}

// The prose with each highlighted sentence in a <mark>. Offsets count code points
// (Python's str), so index an array of characters, not the UTF-16 string.
function renderProse(prose, highlights) {
  const chars = Array.from(prose);
  const nodes = [];
  let at = 0;
  for (const h of [...highlights].sort((a, b) => a.start - b.start)) {
    if (h.start < at || h.end > chars.length) continue; // overlapping or out of range
    if (h.start > at) nodes.push(document.createTextNode(chars.slice(at, h.start).join("")));
    const mark = el("mark", `hl ${effectKind(h.effect)}`, chars.slice(h.start, h.end).join(""));
    mark.style.setProperty("--strength", Math.min(Math.abs(h.effect) / STRONG, 1).toFixed(2));
    mark.title = `${points(h.effect)}${h.reason ? ` · ${h.reason}` : ""}`;
    nodes.push(mark);
    at = h.end;
  }
  if (at < chars.length) nodes.push(document.createTextNode(chars.slice(at).join("")));
  ui.prose.replaceChildren(...nodes);
  ui.reading.hidden = chars.length === 0;

  // The tooltip is mouse-only, so the sentences that cost most are also listed in words.
  const worst = highlights.filter((h) => h.effect <= -NEUTRAL)
    .sort((a, b) => a.effect - b.effect).slice(0, 3);
  ui.weakest.replaceChildren(...worst.map((h) => {
    const item = el("li", "weak");
    item.append(el("q", "", clip(h.text, 180)), el("span", "effect hurts", points(h.effect)));
    if (h.reason) item.append(el("span", "reason", `Why: ${h.reason}`));
    return item;
  }));
  if (!worst.length) ui.weakest.append(el("li", "empty", "None: no sentence lowers the score noticeably."));
}

const clip = (text, n) => (text.length > n ? `${text.slice(0, n - 1).trimEnd()}…` : text);
const effectKind = (e) => (e >= NEUTRAL ? "helps" : e <= -NEUTRAL ? "hurts" : "neutral");

ui.form.addEventListener("input", schedule);
ui.form.addEventListener("submit", (event) => { event.preventDefault(); scoreNow(); }); // never reload
// One listener for every feedback button, including those rendered later.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.fb");
  if (button) sendFeedback(button);
});
showTags();
