// The page side of helpers.display.ChatInput: a text box where Enter sends and Shift+Enter starts a new line.
// The text reaches the kernel once, when it is sent (a custom message), not on every key press.

function render({ model, el }) {
  el.classList.add("helpers-chat-input");
  const box = document.createElement("textarea");
  box.rows = 2;
  // JupyterLab's shortcuts (Shift+Enter runs the cell, Enter edits it) stay out of this box.
  box.setAttribute("data-lm-suppress-shortcuts", "true");
  const send = document.createElement("button");
  send.className = "jupyter-button mod-primary";
  send.textContent = "Send";
  el.append(box, send);

  function submit() {
    const text = box.value.trim();
    if (!text || model.get("disabled")) return;
    model.send({ submit: text });
    box.value = "";
  }
  box.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    event.stopPropagation(); // the notebook must not see it
    event.preventDefault();
    if (event.shiftKey) {
      // Typed here rather than left to the browser: JupyterLab cancels the line break the browser would insert.
      box.setRangeText("\n", box.selectionStart, box.selectionEnd, "end");
      box.dispatchEvent(new Event("input", { bubbles: true }));
    } else {
      submit();
    }
  });
  send.addEventListener("click", submit);

  function update() {
    box.placeholder = model.get("placeholder");
    send.disabled = model.get("disabled");
  }
  model.on("change:placeholder change:disabled", update);
  update();
}

export default { render };
