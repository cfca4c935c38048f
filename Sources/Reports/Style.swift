/// The reports' one style sheet and one script, inline in every page (no fetches).
enum Style {
    static let css: StaticString = """
    :root { --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9; --ink: #1f2328; --muted: #59636e;
            --line: #d1d9e0; --soft: #f6f8fa; --accent: #0969da; --warn: #9a6700; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Helvetica Neue", Arial, sans-serif;
           color: var(--ink); background: #fff; }
    main { max-width: 1360px; margin: 0 auto; padding: 24px 28px 64px; }
    h1 { font-size: 26px; margin: 0 0 6px; font-weight: 650; letter-spacing: -0.01em; }
    h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); font-weight: 650; }
    h3 { font-size: 16px; margin: 20px 0 6px; }
    p { margin: 6px 0; }
    a { color: var(--accent); }
    code, .mono, pre { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
    pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; overflow-x: auto; margin: 6px 0; white-space: pre-wrap; }
    .muted { color: var(--muted); }
    .small { font-size: 13px; }
    .pill { display: inline-block; padding: 2px 12px; border-radius: 999px; font-weight: 700; font-size: 14px; vertical-align: middle; margin-left: 10px; }
    .pill.pass, .verdict.pass { color: var(--pass); background: var(--pass-bg); }
    .pill.fail, .verdict.fail { color: var(--fail); background: var(--fail-bg); }
    .summary { font-size: 18px; margin: 12px 0 4px; padding: 12px 16px; border-radius: 8px; border-left: 5px solid var(--pass); background: var(--pass-bg); }
    .summary.fail { border-left-color: var(--fail); background: var(--fail-bg); }
    .facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 4px 24px; margin: 14px 0; font-size: 14px; }
    .facts div { padding: 3px 0; border-bottom: 1px dotted var(--line); }
    .facts b { display: block; font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
    table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
    th, td { text-align: left; padding: 5px 12px 5px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { font-weight: 600; color: var(--muted); font-size: 13px; }
    td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
    table.matrix td, table.matrix th { padding: 6px 10px; border: 1px solid var(--line); }
    table.matrix td.pass { color: var(--pass); background: var(--pass-bg); }
    table.matrix td.fail { color: var(--fail); background: var(--fail-bg); font-size: 13px; }
    .verdict.claim { color: var(--warn); background: #fff8c5; }
    .verdict { font-weight: 700; padding: 1px 8px; border-radius: 4px; font-size: 13px; }
    .bars td { padding-top: 3px; padding-bottom: 3px; }
    .barcell { width: 420px; }
    .hbar { height: 14px; border-radius: 3px; background: #8c959f; min-width: 2px; }
    .hbar.s-201 { background: #2da44e; } .hbar.s-409 { background: #6e7781; } .hbar.s-503 { background: #d4a72c; }
    .hbar.s-none, .hbar.s-5xx { background: #cf222e; } .hbar.s-4xx { background: #8250df; } .hbar.s-2xx { background: #1f883d; }
    .charts { display: flex; flex-wrap: wrap; gap: 12px 28px; }
    figure.chart { margin: 8px 0; }
    figcaption { font-size: 13px; color: var(--muted); text-align: center; }
    .chart .bar { fill: #54aeff; } .chart .grid { stroke: #eaeef2; } .chart .axis { stroke: #8c959f; }
    .chart .tick, .timeline .tick { font-size: 11px; fill: var(--muted); }
    .chart .axis-title { font-size: 12px; fill: var(--muted); }
    .chart .cdf { fill: none; stroke: #0969da; stroke-width: 2; }
    .chart .guide95 { stroke: #8c959f; stroke-dasharray: 2 3; }
    .mline { stroke-width: 1.6; } .mline.m-p95 { stroke: #0550ae; stroke-dasharray: 5 3; } .mline.m-slo { stroke: var(--fail); }
    .mlabel { font-size: 12px; font-weight: 600; } .mlabel.m-p95 { fill: #0550ae; } .mlabel.m-slo { fill: var(--fail); }
    .incident { border: 1px solid #ffcecb; background: #fffafa; border-radius: 8px; padding: 12px 18px; margin: 12px 0; }
    .incident h3 { margin-top: 4px; color: var(--fail); }
    .incident ul { margin: 6px 0; padding-left: 22px; }
    .incident li { margin: 4px 0; }
    .steps td { font-size: 13px; }
    .stepno { display: inline-block; min-width: 20px; height: 20px; line-height: 20px; border-radius: 10px; background: var(--fail); color: #fff;
              text-align: center; font-size: 12px; font-weight: 700; }
    .legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; color: var(--muted); margin: 6px 0 8px; align-items: center; }
    .legend svg { vertical-align: middle; margin-right: 4px; }
    .scroll { overflow: auto; max-height: 86vh; border: 1px solid var(--line); border-radius: 6px; }
    .controls { font-size: 13px; margin: 4px 0; color: var(--muted); }
    #timeline { display: block; font-family: system-ui, "DejaVu Sans", sans-serif; }
    .timeline .band { fill: #fff; } .timeline .band.alt { fill: #f6f8fa; }
    .timeline .lane-label { font-size: 12px; fill: var(--ink); cursor: default; }
    .timeline .lane-label.hl { fill: var(--fail); font-weight: 700; }
    .timeline .lane-sub, .timeline .row-label { font-size: 10px; fill: var(--muted); }
    .timeline .tgrid { stroke: #eaeef2; }
    .timeline .gap { fill: url(#gap-hatch); }
    .timeline .gap-label { font-size: 10px; fill: var(--muted); }
    .timeline .req { rx: 2; }
    .timeline .s-201 { fill: #2da44e; } .timeline .s-409 { fill: #8c959f; } .timeline .s-503 { fill: #d4a72c; }
    .timeline .s-none, .timeline .s-5xx { fill: #cf222e; } .timeline .s-4xx { fill: #8250df; } .timeline .s-2xx { fill: #54aeff; }
    .timeline .work { fill-opacity: .75; }
    .timeline .req-label { font-size: 10px; fill: var(--muted); }
    .timeline .lock { fill: #0969da; fill-opacity: .8; } .timeline .lock.expired { fill: #bc4c00; }
    .timeline .expiry { stroke: #cf222e; stroke-width: 2.2; fill: none; }
    .timeline .mark.attempt { fill: #8c959f; } .timeline .mark.release { fill: #1a7f37; } .timeline .mark.release-failed { fill: #cf222e; }
    .timeline .mark.timeout { fill: #cf222e; } .timeline .mark.other { fill: #8250df; fill-opacity: .85; }
    .timeline .mark.sleep { fill: #d0d7de; } .timeline .mark.read, .timeline .mark.lock-get { fill: #54aeff; }
    .timeline .tx { fill: #1a7f37; fill-opacity: .35; } .timeline .tx.rolledback { fill: #8c959f; } .timeline .tx.failed { fill: #cf222e; }
    .timeline .tx.open { fill: #d4a72c; }
    .timeline .stmt { fill: #1f2328; } .timeline .stmt.blocked { fill: #bc4c00; } .timeline .stmt.error { fill: #cf222e; } .timeline .stmt.end { fill: #1a7f37; }
    .timeline .density { fill: #6e7781; }
    .timeline .fault-span { fill: #8250df; fill-opacity: .14; stroke: #8250df; stroke-opacity: .5; stroke-dasharray: 3 2; }
    .timeline .inflight { fill: #d4a72c; fill-opacity: .55; stroke: #9a6700; stroke-width: .8; }
    .timeline .hl { stroke: #cf222e; stroke-width: 1.6; }
    .timeline text.hl { stroke: none; }
    .timeline .violation { stroke: #cf222e; stroke-width: 1.5; stroke-dasharray: 6 4; }
    .timeline .violation-label { font-size: 11px; fill: #cf222e; font-weight: 700; }
    .timeline .step circle { fill: #cf222e; stroke: #fff; stroke-width: 1.5; }
    .timeline .step text { font-size: 10px; fill: #fff; font-weight: 700; }
    .timeline .msg { display: none; stroke: #0969da; stroke-width: 1; stroke-opacity: .55; }
    .timeline .msg.reply { stroke: #1a7f37; } .timeline .msg.lost { stroke: #cf222e; stroke-dasharray: 3 2; }
    .timeline.show-msgs .msg, .timeline.focus .msg.on { display: inline; }
    .timeline.focus [data-u]:not(.on) { opacity: .12; }
    .timeline.no-steps .step { display: none; }
    details > summary { cursor: pointer; color: var(--accent); margin: 6px 0; }
    .index td { padding-right: 18px; }
    .nowrap { white-space: nowrap; }
    footer { margin-top: 48px; font-size: 12px; color: var(--muted); }
    """

    /// Hover (or click, to pin) anything drawn for a user: that user's whole request lights up
    /// across lanes, with its messages. No external code.
    static let script: StaticString = """
    (function () {
      var svg = document.getElementById('timeline');
      if (!svg) return;
      var pinned = null;
      function focus(user) {
        var lit = svg.querySelectorAll('.on');
        for (var i = 0; i < lit.length; i++) lit[i].classList.remove('on');
        if (!user) { svg.classList.remove('focus'); return; }
        var mine = svg.querySelectorAll('[data-u="' + user + '"]');
        for (var j = 0; j < mine.length; j++) mine[j].classList.add('on');
        svg.classList.add('focus');
      }
      function userOf(target) {
        var node = target && target.closest ? target.closest('[data-u]') : null;
        return node ? node.getAttribute('data-u') : null;
      }
      svg.addEventListener('mouseover', function (event) { if (!pinned) focus(userOf(event.target)); });
      svg.addEventListener('mouseleave', function () { if (!pinned) focus(null); });
      svg.addEventListener('click', function (event) {
        var user = userOf(event.target);
        pinned = user && user !== pinned ? user : null;
        focus(pinned);
      });
      var messages = document.getElementById('show-messages');
      if (messages) messages.addEventListener('change', function () { svg.classList.toggle('show-msgs', messages.checked); });
      var steps = document.getElementById('show-steps');
      if (steps) steps.addEventListener('change', function () { svg.classList.toggle('no-steps', !steps.checked); });
    })();
    """
}
