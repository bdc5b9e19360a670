// A small history router: the path picks a screen, the query is read by the screen itself.
// Links are real <a href> elements (so they have the link role and work with a middle click);
// a plain click is turned into pushState.
import type { AnchorHTMLAttributes, ComponentChildren } from "preact";
import { Changes, useChanges } from "./changes";

const locationChanges = new Changes();

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  locationChanges.notify();
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => locationChanges.notify());

/** The current location; re-renders on navigation. */
export function useLocation(): { path: string; query: URLSearchParams } {
  useChanges(locationChanges);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** Matches `/courses/:id` against a path; returns the parameters or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/");
  const s = path.replace(/\/+$/, "").split("/");
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(":")) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

export function Link({ href, children, ...rest }: LinkProps) {
  const onClick = (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  const current = location.pathname === href ? "page" : undefined;
  return (
    <a href={href} onClick={onClick} aria-current={current} {...rest}>
      {children}
    </a>
  );
}
