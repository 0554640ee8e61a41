// What the browser suite reads and watches in JupyterLab's page, as `window.notebookTest`.
// Loaded into every page before JupyterLab's own scripts (the `page` fixture, Playwright's add_init_script);
// notebook_page.py calls these functions by name, with its values as arguments.
// JupyterLab runs with expose_app_in_browser, so `window.jupyterapp` is its application.
window.notebookTest = (() => {
    const CELLS = '.jp-Notebook .jp-Notebook-cell';
    const STATUS = '.jp-Cell-outputArea .widget-hbox > .widget-html';
    const now = () => performance.timeOrigin + performance.now();
    const cellAt = (index) => document.querySelectorAll(CELLS)[index];

    // The panel of the notebook at `path`.
    function panel(path) {
        return Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === path);
    }

    // Each cell's [executionCount, executionState] from its model (null for markdown). The model, not the
    // "[n]:" prompt, because a cell whose source is hidden (an exercise's solution) shows no prompt.
    function states(path) {
        return panel(path).content.widgets.map(
            cell => cell.model.type === 'code' ? [cell.model.executionCount, cell.model.executionState] : null);
    }

    // Ready: every cell is on the page, and the kernel is idle as the status bar says ("Python 3 (ipykernel) |
    // Idle"); the toolbar's execution indicator already says "idle" while there is no kernel yet.
    function ready(path) {
        let cells = 0;
        try { cells = panel(path).content.widgets.length; } catch (error) {}
        if (document.querySelectorAll(CELLS).length !== cells) cells = -1;
        const items = Array.from(document.querySelectorAll('.jp-StatusBar-TextItem')).map(item => item.textContent.trim());
        const idle = items.some(text => /\| Idle$/.test(text) && !text.includes('No Kernel'));
        return {cells, idle, status: items.filter(text => text.includes('|')).join(' ')};
    }

    // Make the cell the active one, in command mode, with the keyboard focus on the notebook.
    function select(path, index) {
        const notebook = panel(path).content;
        notebook.deselectAll();
        notebook.activeCellIndex = index;
        notebook.mode = 'command';
        notebook.node.focus();
    }

    // The cell has started: it is running, or already has a new execution count.
    function started(path, index, before) {
        const [count, state] = states(path)[index];
        return state === 'running' || count !== before;
    }

    // The cell has run: not running, with a new execution count.
    function finished(path, index, before) {
        const [count, state] = states(path)[index];
        return state !== 'running' && count !== null && count !== before;
    }

    // Every code cell has run, or one that must not fail shows a traceback.
    function allRunOrFailed(path, code, mustNotFail) {
        const cellStates = states(path);
        const done = code.every(i => cellStates[i][1] !== 'running' && cellStates[i][0] !== null);
        const cells = document.querySelectorAll(CELLS);
        const failed = mustNotFail.some(i => Array.from(cells[i].querySelectorAll(
            '.jp-Cell-outputArea [data-mime-type="application/vnd.jupyter.stderr"]'))
            .some(node => node.textContent.includes('Traceback (most recent call last)')));
        return done || failed;
    }

    // What a StreamView (helpers.display) in the cell shows: `stream` is the text streamed into the Output
    // widget (stdout), `text` all of its text (after a Markdown render, too), `status` the status line.
    function readView(cell) {
        const out = cell.querySelector('.jp-Cell-outputArea .widget-output');
        const status = cell.querySelector(STATUS);
        const streams = out ? out.querySelectorAll('[data-mime-type="application/vnd.jupyter.stdout"]') : [];
        return {
            stream: Array.from(streams).map(node => node.textContent).join(''),
            text: out ? out.textContent : '',
            markdown: !!(out && out.querySelector('.jp-RenderedMarkdown')),
            status: status ? status.textContent.trim() : '',
        };
    }

    function view(index) {
        return readView(cellAt(index));
    }

    // The cell's status line contains one of `needles`.
    function statusHas(index, needles) {
        const cell = cellAt(index);
        const status = cell && cell.querySelector(STATUS);
        return !!status && needles.some(needle => status.textContent.includes(needle));
    }

    // The cell's Output widget shows some text.
    function outputHasText(index) {
        const out = cellAt(index).querySelector('.jp-Cell-outputArea .widget-output');
        return !!out && out.textContent.trim().length > 0;
    }

    // Record the cell's stream view: a sample every `interval` ms, and every change of the streamed text
    // (MutationObserver) with the time of the next frame.
    const watches = {};

    function watch(index, interval) {
        const cell = cellAt(index);
        const record = {samples: [], changes: [], longest: '', last: null};
        record.timer = setInterval(() => record.samples.push({t: now(), ...readView(cell)}), interval);
        record.observer = new MutationObserver(() => {
            const t = now();
            const stream = readView(cell).stream;
            if (stream === record.last) return;
            record.last = stream;
            if (stream.length > record.longest.length) record.longest = stream;
            const change = {t, frame: null, length: stream.length};
            record.changes.push(change);
            // The next frame's rendering runs right after its requestAnimationFrame callbacks; a task
            // queued from there runs once that frame is done: the text can be on screen by then.
            requestAnimationFrame(() => setTimeout(() => { change.frame = now(); }, 0));
        });
        record.observer.observe(cell, {subtree: true, childList: true, characterData: true});
        watches[index] = record;
    }

    // Stop recording, once the frame after the last change is done; {samples, changes, longest}.
    async function watched(index) {
        const record = watches[index];
        clearInterval(record.timer);
        record.observer.disconnect();
        await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)));
        return {samples: record.samples, changes: record.changes, longest: record.longest};
    }

    // Time a click on `button` and the moment its cell's status says "stopped", in the page itself rather
    // than across Playwright's round trips; stopTiming() then gives {clicked, stopped} (performance.now()).
    let stopTimes = null;

    function timeStop(button) {
        const status = button.closest('.jp-Notebook-cell').querySelector(STATUS);
        stopTimes = {clicked: null, stopped: null};
        button.addEventListener('click', () => { stopTimes.clicked = performance.now(); }, {capture: true});
        const observer = new MutationObserver(() => {
            if (status.textContent.includes('stopped') && stopTimes.stopped === null) {
                stopTimes.stopped = performance.now();
                observer.disconnect();
            }
        });
        observer.observe(status, {subtree: true, childList: true, characterData: true});
    }

    function stopTiming() {
        return stopTimes;
    }

    // How many times `needle` appears in what `node` shows, whitespace normalized.
    function count(node, needle) {
        const normalized = text => text.split(/\s+/).filter(Boolean).join(' ');
        return normalized(node.textContent).split(normalized(needle)).length - 1;
    }

    return {
        ready, states, select, started, finished, allRunOrFailed, view, statusHas, outputHasText, watch, watched,
        timeStop, stopTiming, count,
    };
})();
