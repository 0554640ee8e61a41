// What the browser suite reads in JupyterLab's (or Notebook 7's) page, as `window.notebookTest`; what a stream
// view shows is stream_view.js.
// Loaded into every page before JupyterLab's own scripts (the `page` fixture, Playwright's add_init_script);
// notebook_page.py calls these functions by name, with its values as arguments.
// JupyterLab runs with expose_app_in_browser, so `window.jupyterapp` is its application.
window.notebookTest = (() => {
    const CELLS = '.jp-Notebook .jp-Notebook-cell';

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

    // Ready: every cell is on the page, and the notebook's kernel is there and idle, by its session's own word
    // (Notebook 7 has no status bar, and the toolbar's indicator already says "idle" while there is no kernel).
    function ready(path) {
        let cells = 0, status = 'no notebook';
        try {
            const notebook = panel(path);
            cells = notebook.content.widgets.length;
            const kernel = notebook.sessionContext.session && notebook.sessionContext.session.kernel;
            status = kernel ? kernel.status : 'no kernel';
        } catch (error) {}
        if (document.querySelectorAll(CELLS).length !== cells) cells = -1;
        return {cells, idle: status === 'idle', status};
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

    return {ready, states, select, started, finished, allRunOrFailed};
})();
