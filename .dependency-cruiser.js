// Dependency rules of src/, checked by `npm run deps` (part of `npm run check`) with
// dependency-cruiser. A dynamic `import()` counts like a static import; a type-only import
// (`import type`) is erased before the code runs, so it forms no cycle.

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-import-cycle',
      severity: 'error',
      comment:
        'An import cycle (type-only imports aside): a module of it can run before one it uses is ' +
        'initialised. Move what both need into a module of its own, or import only its type.',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'library-imports-no-cli',
      severity: 'error',
      comment:
        'The library does not import its CLI: TaskClient.main() loads the stage CLI with a dynamic ' +
        'import() when a stage CLI runs, and nothing else of the library refers to src/cli/.',
      from: { path: '^src/', pathNot: ['^src/cli/', '^src/task-client\\.ts$'] },
      to: { path: '^src/cli/' },
    },
    {
      name: 'client-loads-cli-on-demand',
      severity: 'error',
      comment:
        'TaskClient may load the CLI only with a dynamic import(), so that yargs loads only for a CLI.',
      from: { path: '^src/task-client\\.ts$' },
      to: { path: '^src/cli/', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'library-imports-no-testing-kit',
      severity: 'error',
      comment:
        'The testing kit (src/testing/, the `sqspipes/testing` entry) builds on the library; the ' +
        'library never imports it, so that fauxqs and testcontainers never load in production.',
      from: { path: '^src/', pathNot: '^src/testing/' },
      to: { path: '^src/testing/' },
    },
    {
      name: 'yargs-only-in-cli',
      severity: 'error',
      comment: 'Only the CLI parses command lines: the library never loads yargs.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '(^|/)node_modules/yargs/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
