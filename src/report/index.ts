export * from "./svg.js";
export * from "./markdown.js";
export {
  renderReport,
  writeReport,
  escapeHtml,
  detectImageMime,
  dataUri,
  safeJson,
  type ReportData,
  type ReportTable,
  type ReportChart,
  type ReportImage,
  type ReportGallery,
  type ReportRun,
  type ImageMime,
} from "./html.js";
