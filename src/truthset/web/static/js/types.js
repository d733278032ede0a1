// @ts-check
/**
 * Shared JSDoc types of the browser code (no runtime content).
 *
 * @typedef {{id: string, data: Record<string, any>, media_url?: string}} TaskItem
 * @typedef {{
 *   assignment_id: number, job: string, task_type: string, ui_module: string,
 *   labels: string[], label_config: any, deadline: number, leased_at: number,
 *   time_limit: number, item: TaskItem, prediction: any, prior_label: any
 * }} Task  the body of POST /api/jobs/{name}/next
 *
 * @typedef {{
 *   root: HTMLElement, side: HTMLElement, task: Task,
 *   store: import("./store.js").AnnotationStore<any>,
 *   labels: string[], shortNames: Record<string, string>, settings: Record<string, any>
 * }} ToolContext
 *
 * @typedef {{
 *   answer: () => any,
 *   problem?: () => (string | null),
 *   missing?: () => (string | null),
 *   onKey?: (e: KeyboardEvent) => boolean,
 *   shortcuts?: [string, string][],
 *   destroy: () => void
 * }} Tool
 *
 * @typedef {{
 *   initialState: (task: Task) => any,
 *   create: (ctx: ToolContext) => Tool,
 *   prefetch?: (task: Task) => void
 * }} ToolModule
 */
export {};
