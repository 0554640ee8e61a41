// The page side of helpers.display.StreamWidget (an anywidget): one streamed reply, rendered in the page.
//
// Why it works this way (the measurements are in helpers/display/widget.py):
// - The text reaches the page once. In a cell it comes as plain stdout captured by an Output widget
//   (`capture`), which nbclient and JupyterLab both keep in the saved notebook; from a widget event (a
//   button click) it comes as custom messages holding only the new text. Either way the page, not the
//   kernel, re-renders the whole reply as Markdown (one render at a time), so the final render is the same
//   as rendering the whole text at once, and the kernel sends each character once.
// - Markdown is rendered by the front end's own renderer (the one its Markdown cells and the Output widget
//   use: headings, lists, tables, fenced code with syntax highlighting, sanitized HTML), so no Markdown
//   library travels through the kernel and a reply looks like the notebook around it. A front end without
//   one (a static page) gets the plain text.
// - Thinking arrives as stderr, or custom messages, the same way; tool calls and the status line are state.

const MODEL_PREFIX = "IPY_MODEL_";
const FOLLOW_SLACK_PX = 24; // "at the bottom" for a reader who scrolled back down by hand

function streamText(outputs, name) {
  let text = "";
  for (const output of outputs || []) {
    if (output.output_type === "stream" && output.name === name) {
      text += Array.isArray(output.text) ? output.text.join("") : output.text;
    }
  }
  return text;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A scroll box marked `helpers-follow` (the chat transcript) follows the newest text until the reader
// scrolls up, and follows again once they scroll back to the bottom.
function followBox(node) {
  const box = node.closest(".helpers-follow");
  if (box && box.helpersFollow === undefined) {
    box.helpersFollow = true;
    box.addEventListener("scroll", () => {
      box.helpersFollow = box.scrollHeight - box.scrollTop - box.clientHeight <= FOLLOW_SLACK_PX;
    });
  }
  return box;
}

async function captureModel(model) {
  const ref = model.get("capture");
  if (!ref || !ref.startsWith(MODEL_PREFIX)) return null;
  const capture = await model.widget_manager.get_model(ref.slice(MODEL_PREFIX.length));
  // The Output model sends its whole list of outputs back to the kernel after every captured message
  // (jupyterlab-manager's OutputModel.add calls save_changes), and ipywidgets echoes it back: quadratic
  // traffic for a text that grows. This Output is only a carrier, so its copy stays in the page; the
  // kernel keeps the text itself (StreamView.finish), for a page that reloads.
  capture.save_changes = () => {};
  return capture;
}

function initialize({ model }) {
  // Deltas from widget events: appended to the page's copy once per model, not once per view.
  model.on("msg:custom", (message) => {
    if (message.text) model.set("text", model.get("text") + message.text);
    if (message.thinking) model.set("thinking", model.get("thinking") + message.thinking);
  });
}

async function render({ model, el }) {
  el.classList.add("helpers-stream");
  const title = element("div", "helpers-title");
  const thinking = element("details", "helpers-thinking");
  const thinkingLabel = element("summary");
  const thinkingText = element("div", "helpers-thinking-text");
  thinking.append(thinkingLabel, thinkingText);
  const tools = element("div", "helpers-tools");
  const answer = element("div", "helpers-answer");
  const footer = element("div", "helpers-footer");
  const stop = element("button", "jupyter-button helpers-stop", "■ Stop");
  const status = element("code", "helpers-status");
  footer.append(stop, status);
  el.append(title, thinking, tools, answer, footer);
  stop.addEventListener("click", () => model.send({ event: "stop" }));

  const capture = await captureModel(model);
  const rendermime = model.widget_manager && model.widget_manager.rendermime;
  let shownAnswer = null;
  let shownThinking = null;
  let renderer = null;
  let rendering = false;
  let pending = false;
  let thinkingStarted = null;
  let folded = false;

  function answerText() {
    return streamText(capture && capture.get("outputs"), "stdout") + model.get("text");
  }

  async function renderAnswer(text) {
    const box = followBox(el);
    if (!(model.get("markdown") && rendermime)) {
      answer.classList.add("helpers-plain");
      answer.textContent = text;
    } else {
      // One render at a time; whatever arrived meanwhile is rendered right after (see update()).
      rendering = true;
      try {
        const next = rendermime.createRenderer("text/markdown");
        await next.renderModel({ data: { "text/markdown": text }, metadata: {}, trusted: false, setData() {} });
        answer.replaceChildren(next.node);
        if (renderer) renderer.dispose();
        renderer = next;
      } catch (error) {
        answer.classList.add("helpers-plain");
        answer.textContent = text;
      } finally {
        rendering = false;
      }
    }
    // How much of the reply is on screen (UTF-16 code units of the source), for anyone timing the display.
    el.dataset.shown = String(text.length);
    if (box && box.helpersFollow) box.scrollTop = box.scrollHeight;
  }

  function updateThinking() {
    const text = streamText(capture && capture.get("outputs"), "stderr") + model.get("thinking");
    thinking.style.display = text ? "" : "none";
    if (!text) return;
    const phase = model.get("phase");
    if (thinkingStarted === null) thinkingStarted = performance.now();
    if (phase === "thinking") {
      thinking.open = true;
      const seconds = Math.round((performance.now() - thinkingStarted) / 1000);
      thinkingLabel.textContent = `Thinking… ${seconds} s`;
    } else {
      if (!folded) thinking.open = false; // folds once when the answer starts; the reader may reopen it
      folded = true;
      const seconds = model.get("thinking_seconds");
      thinkingLabel.textContent = seconds ? `Thought for ${Math.round(seconds)} s` : "Thoughts";
    }
    if (text !== shownThinking) {
      thinkingText.textContent = text;
      shownThinking = text;
    }
  }

  function updateTools() {
    const calls = model.get("tool_calls") || [];
    tools.style.display = calls.length ? "" : "none";
    tools.replaceChildren(...calls.map((call) => element("div", "helpers-tool", `→ ${call.name}(${call.arguments})`)));
  }

  function update() {
    pending = false;
    title.textContent = model.get("title");
    title.style.display = model.get("title") ? "" : "none";
    el.dataset.bubble = model.get("bubble");
    el.dataset.phase = model.get("phase");
    updateThinking();
    updateTools();
    status.textContent = model.get("status");
    stop.style.display = model.get("stoppable") ? "" : "none";
    stop.disabled = model.get("done");
    footer.style.display = model.get("status") || model.get("stoppable") ? "" : "none";
    const text = answerText();
    if (text !== shownAnswer && !rendering) {
      shownAnswer = text;
      renderAnswer(text).then(() => { if (answerText() !== shownAnswer) schedule(); });
    }
  }

  // Changes that arrive together (a message sets several values) make one update, as soon as they are in:
  // waiting for the next animation frame instead would add up to 16 ms to every token's way to the screen.
  function schedule() {
    if (!pending) {
      pending = true;
      queueMicrotask(update);
    }
  }

  const events = "change:text change:thinking change:tool_calls change:phase change:status change:title " +
    "change:stoppable change:done change:markdown change:bubble";
  model.on(events, schedule);
  if (capture) capture.on("change:outputs", schedule);
  const ticker = setInterval(() => { if (model.get("phase") === "thinking") schedule(); }, 1000);
  update();
  return () => {
    clearInterval(ticker);
    if (capture) capture.off("change:outputs", schedule);
    if (renderer) renderer.dispose();
  };
}

export default { initialize, render };
