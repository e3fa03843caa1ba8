// jsdom has no canvas: getContext answers null, as a browser without 2D support would, instead of
// logging "not implemented" from every test that draws a panel (the views check for null).
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;
