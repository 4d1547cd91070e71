"""Serves the canvas: the single-page app that `npm run build` writes to frontend/dist, at "/"."""
