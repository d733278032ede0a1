// @ts-check
/** The polygon tool: see vertices.js. */
import { createVertexTool, makeInitialState } from "./vertices.js";

export const initialState = makeInitialState("polygon");

/** @param {import("../js/types.js").ToolContext} ctx */
export function create(ctx) {
  return createVertexTool("polygon", ctx);
}
