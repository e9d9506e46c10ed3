/** The page's elements by id; a missing one is a bug in index.html, so it throws at start-up. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`index.html has no #${id}`);
  return found as T;
}

type Child = Node | string | null | undefined | false;

/** An element with text children only (textContent, never innerHTML: event and rule names are anyone's input). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; title?: string; attrs?: Record<string, string> } = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className !== undefined) node.className = props.className;
  if (props.title !== undefined) node.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** Replaces a list's items only when what they show changed (keeps focus and avoids layout work every frame). */
export function replaceChildrenIfChanged(parent: HTMLElement, signature: string, build: () => Node[]): void {
  if (parent.dataset.signature === signature) return;
  parent.dataset.signature = signature;
  parent.replaceChildren(...build());
}
