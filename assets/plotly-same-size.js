/* dcc.Graph calls Plotly.Plots.resize after every chart's first plot and whenever the chart's box
   changes, height included; Plotly then lays the whole chart out and draws it again, even at the size it
   already has. On arrival that was one or two full redraws per chart (0.5-1 s of a page with four).
   Skip a resize that would not change the size: every figure of the site sets its height, so only a
   new width (a window resized, a phone turned, a scrollbar appearing) needs a redraw.
   Named to load after the plotly.js bundle (assets load in name order). */
(function () {
  const Plotly = window.Plotly;
  if (!Plotly || !Plotly.Plots || !Plotly.Plots.resize) return;
  const resize = Plotly.Plots.resize;
  Plotly.Plots.resize = function (gd) {
    const full = gd && gd._fullLayout;
    const fixedHeight = gd && gd.layout && gd.layout.height;
    if (full && fixedHeight && full.height === fixedHeight && typeof gd.getBoundingClientRect === "function") {
      const width = Math.round(gd.getBoundingClientRect().width);
      if (width > 0 && width === Math.round(full.width)) return Promise.resolve(gd);
    }
    return resize.apply(this, arguments);
  };
})();
