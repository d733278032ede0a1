// Types of the vendored OrbitControls.js for tsc --checkJs (npm's @types/three).
export * from "three/examples/jsm/controls/OrbitControls.js";
