// @ts-check
/** The line tool (crowd-line): a polyline that ends by itself at its second point. */
import { createVertexTool, makeInitialState } from "./vertices.js";

export const initialState = makeInitialState("polyline");

/** @param {import("../js/types.js").ToolContext} ctx */
export function create(ctx) {
  return createVertexTool("polyline", ctx, { maxVertices: 2 });
}
