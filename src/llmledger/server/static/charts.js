// Draws every chart of the page from the JSON beside it (<script type="application/json">).
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".chart-box[data-figure]");
  var pending = boxes.length;
  function done() {
    pending -= 1;
    if (pending === 0) {
      document.documentElement.dataset.chartsDrawn = String(boxes.length);
      // when the last chart was drawn, after the navigation started (benchmarks/pages.py)
      if (window.performance && performance.mark) { performance.mark("llmledger:charts-drawn"); }
    }
  }
  if (!pending) { document.documentElement.dataset.chartsDrawn = "0"; }
  boxes.forEach(function (box) {
    var figure = JSON.parse(document.getElementById(box.dataset.figure).textContent);
    var config = { displayModeBar: false, responsive: true };
    window.Plotly.newPlot(box, figure.data, figure.layout, config).then(done, done);
  });
})();
