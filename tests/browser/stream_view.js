// What the browser suite reads and watches of a helpers.display stream view (StreamWidget) in a notebook cell,
// as `window.streamView`. Works in JupyterLab and Jupyter Notebook 7 (the same cell and widget DOM).
window.streamView = (() => {
    const CELLS = '.jp-Notebook .jp-Notebook-cell';
    const now = () => performance.timeOrigin + performance.now();
    const cellAt = (index) => document.querySelectorAll(CELLS)[index];
    const ELEMENTS = {
        heading: 'h1, h2, h3, h4, h5, h6', listItem: 'li', codeBlock: 'pre', table: 'table',
        highlighted: 'pre code span[class]',
    };

    // The `which`-th stream view in the cell: what it shows now.
    function read(cell, which = 0) {
        const view = cell && cell.querySelectorAll('.helpers-stream')[which];
        if (!view) return null;
        const answer = view.querySelector('.helpers-answer');
        const thinking = view.querySelector('.helpers-thinking');
        const elements = {};
        for (const [name, selector] of Object.entries(ELEMENTS)) elements[name] = answer.querySelectorAll(selector).length;
        return {
            shown: Number(view.dataset.shown || 0),  // UTF-16 length of the reply text on screen
            text: answer.textContent,
            markdown: !!answer.querySelector('.jp-RenderedMarkdown'),
            status: view.querySelector('.helpers-status').textContent.trim(),
            phase: view.dataset.phase,
            bubble: view.dataset.bubble,
            thinking: {visible: thinking.style.display !== 'none', open: thinking.open,
                       label: thinking.querySelector('summary').textContent, text: thinking.textContent},
            elements,
        };
    }

    function view(index, which = 0) {
        return read(cellAt(index), which);
    }

    // Words that the layout split across two lines, in the answer's prose (paragraphs, list items, cells).
    function brokenWords(index) {
        const broken = [];
        const answer = cellAt(index).querySelector('.helpers-stream .helpers-answer');
        const walker = document.createTreeWalker(answer, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (node.parentElement.closest('pre')) continue;
            const pattern = /\S+/g;
            let match;
            while ((match = pattern.exec(node.data))) {
                const range = document.createRange();
                range.setStart(node, match.index);
                range.setEnd(node, match.index + match[0].length);
                const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
                if (lines.size > 1) broken.push(match[0]);
            }
        }
        return broken;
    }

    // How the answer's code blocks and prose are laid out.
    function layout(index) {
        const answer = cellAt(index).querySelector('.helpers-stream .helpers-answer');
        const pres = Array.from(answer.querySelectorAll('pre'));
        const prose = answer.querySelector('p');
        return {
            codeWhiteSpace: pres.map(pre => getComputedStyle(pre).whiteSpace),
            codeOverflowX: pres.map(pre => getComputedStyle(pre).overflowX),
            codeFont: pres.length ? getComputedStyle(pres[0]).fontFamily : '',
            codeScrolls: pres.some(pre => pre.scrollWidth > pre.clientWidth),
            proseFont: prose ? getComputedStyle(prose).fontFamily : '',
            contentFont: getComputedStyle(document.body).getPropertyValue('--jp-content-font-family').trim(),
            codeFontVariable: getComputedStyle(document.body).getPropertyValue('--jp-code-font-family').trim(),
        };
    }

    // Record the cell's first stream view: every change of what it shows (MutationObserver, attributes too),
    // with the time of the next frame, when each kind of rendered element first showed, and when the status
    // first said the stream had ended.
    const records = {};

    function watch(index) {
        const cell = cellAt(index);
        const record = {changes: [], first: {}, ended: null, last: -1, samples: []};
        const observe = () => {
            const t = now();
            const seen = read(cell);
            if (!seen) return;
            for (const [name, count] of Object.entries(seen.elements)) {
                if (count && record.first[name] === undefined) record.first[name] = t;
            }
            if (record.ended === null && /^[✓■⚠]/.test(seen.status)) record.ended = t;
            if (seen.shown === record.last) return;
            record.last = seen.shown;
            const change = {t, frame: null, length: seen.shown, phase: seen.phase, thinking: seen.thinking};
            record.changes.push(change);
            // The next frame's rendering runs right after its requestAnimationFrame callbacks; a task
            // queued from there runs once that frame is done: the text can be on screen by then.
            requestAnimationFrame(() => setTimeout(() => { change.frame = now(); }, 0));
        };
        record.timer = setInterval(() => { const seen = read(cell); if (seen) record.samples.push({t: now(), ...seen}); }, 100);
        record.observer = new MutationObserver(observe);
        record.observer.observe(cell, {subtree: true, childList: true, characterData: true, attributes: true});
        records[index] = record;
    }

    async function watched(index) {
        const record = records[index];
        clearInterval(record.timer);
        record.observer.disconnect();
        await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)));
        return {changes: record.changes, first: record.first, ended: record.ended, samples: record.samples};
    }

    // The rendered Markdown's HTML in a cell: the stream view's (`which` 0), or a plain Markdown output's.
    function renderedHtml(index, inView) {
        const cell = cellAt(index);
        const scope = inView ? cell.querySelector('.helpers-stream .helpers-answer') : cell.querySelector(
            '.jp-Cell-outputArea .jp-OutputArea-output.jp-RenderedMarkdown, .jp-Cell-outputArea .jp-RenderedMarkdown');
        const node = inView ? scope.querySelector('.jp-RenderedMarkdown') : scope;
        if (!node) return null;
        // What the notebook adds to an output once it is attached (table-of-contents numbering, rel on
        // links) is left out: the comparison is of what the Markdown renderer made.
        const copy = node.cloneNode(true);
        copy.querySelectorAll('.numbering-entry').forEach(entry => entry.remove());
        copy.querySelectorAll('[rel]').forEach(link => link.removeAttribute('rel'));
        // and how a boolean attribute is spelled (disabled="" or disabled="disabled", as sanitizing leaves it)
        copy.querySelectorAll('[disabled], [checked]').forEach(box => {
            for (const name of ['disabled', 'checked']) if (box.hasAttribute(name)) box.setAttribute(name, '');
        });
        return copy.innerHTML;
    }

    // Time a click on the Stop button and the moment the status says "stopped", in the page itself.
    let stopTimes = null;
    function timeStop(button, status) {
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

    return {read, view, brokenWords, layout, watch, watched, renderedHtml, timeStop, stopTiming: () => stopTimes};
})();
