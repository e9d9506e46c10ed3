/**
 * What `new Worker(...)` runs for a module beside `from`: built, the module is JavaScript;
 * under tsx (development, tests) it is TypeScript, and tsx's loader has to be registered
 * in the thread first (it is not inherited), so the entry is code that does that.
 */
export function threadEntry(from: string, name: string): { entry: string | URL; evaluate: boolean } {
  const typescript = from.endsWith('.ts');
  const file = new URL(`./${name}.${typescript ? 'ts' : 'js'}`, from);
  return typescript ? { entry: `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); })`, evaluate: true } : { entry: file, evaluate: false };
}
