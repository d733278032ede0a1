// Types of the vendored three.module.js for tsc --checkJs: those of npm's @types/three
// (a devDependency of the same version), which a relative import cannot reach on its own.
export * from "three";
