// @ts-check
/** The polyline tool: see vertices.js. */
import { createVertexTool, makeInitialState } from "./vertices.js";

export const initialState = makeInitialState("polyline");

/** @param {import("../js/types.js").ToolContext} ctx */
export function create(ctx) {
  return createVertexTool("polyline", ctx);
}
