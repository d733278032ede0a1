// @ts-check
/** The keypoint tool: see vertices.js. */
import { createVertexTool, makeInitialState } from "./vertices.js";

export const initialState = makeInitialState("keypoint");

/** @param {import("../js/types.js").ToolContext} ctx */
export function create(ctx) {
  return createVertexTool("keypoint", ctx);
}
