/**
 * The Python agent (docs/trace.md, "The Python agent"): its `sitecustomize` folder, put first
 * on PYTHONPATH, and the `/judge` handler `warden run` answers its questions with.
 */
export { pythonJudge } from "./judge.js";
export { pythonSiteFor, withPythonSite } from "./site.js";
