"""The dashboard's stylesheet (one ``<style>`` element; no font or file is fetched)."""

from __future__ import annotations

__all__ = ["CSS"]

CSS = """<style>
.jl-dashboard { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1a1a1a; max-width: 1200px; }
.jl-title { font-size: 1.6em; margin: 0.2em 0; }
.jl-meta { color: #444; margin: 0.2em 0 0.6em; }
.jl-message { background: #fff4e5; border-left: 4px solid #D55E00; padding: 4px 8px;
  margin: 4px 0; }
.jl-empty-state { background: #f3f3f3; border: 1px dashed #999; padding: 16px; margin: 8px 0; }
.jl-loading { color: #0072B2; font-weight: bold; min-width: 8em; }
.jl-spinner { display: inline-block; width: 0.8em; height: 0.8em; border: 2px solid #0072B2;
  border-right-color: transparent; border-radius: 50%; animation: jl-spin 0.8s linear infinite; }
@keyframes jl-spin { to { transform: rotate(360deg); } }
.jl-chip { background: #e8f1fa; border-radius: 16px; padding: 2px 8px; align-items: center; }
.jl-cards { display: flex; flex-wrap: wrap; gap: 8px; }
.jl-card { border: 1px solid #d9d9d9; border-radius: 6px; padding: 8px 10px; width: 180px;
  background: #fafafa; }
.jl-card-name { font-size: 0.85em; color: #444; }
.jl-card-value { font-size: 1.5em; font-weight: bold; }
.jl-card-change, .jl-card-status { font-size: 0.85em; }
.jl-stage { margin: 12px 0 4px; }
.jl-dashboard table { border-collapse: collapse; margin: 6px 0; font-size: 0.9em; }
.jl-dashboard th, .jl-dashboard td { border-bottom: 1px solid #e3e3e3; padding: 3px 8px;
  text-align: left; }
.jl-dashboard td.num { text-align: right; }
.jl-dashboard td.good { color: #009E73; }
.jl-dashboard td.bad { color: #D55E00; }
.jl-dashboard td.muted { color: #6B6B6B; }
.jl-report-command { white-space: pre-wrap; background: #f6f6f6; padding: 6px; }
.jl-filters .widget-select-multiple { width: 260px; }
/* the widgets' icons without Font Awesome (which the page does not fetch) */
.jupyter-widget-tag-close.fa-times::before { content: "×"; font-style: normal; padding-left: 4px; }
.jupyter-widget-tag-close { cursor: pointer; }
</style>"""
