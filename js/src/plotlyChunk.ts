// plotly.js with only the trace types the panel draws: built on its own and shipped inside the
// panel's bundle as text, run by the page only when it first needs it (see views/plot.ts).

import Plotly from "plotly.js/lib/core";
import bar from "plotly.js/lib/bar";
import contour from "plotly.js/lib/contour";
import heatmap from "plotly.js/lib/heatmap";
import scattergl from "plotly.js/lib/scattergl";

Plotly.register([scattergl, bar, contour, heatmap]);

export default Plotly;
