import { Link } from "../app/router";

export function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link href="/">Go home</Link>.
      </p>
    </section>
  );
}

export function Forbidden() {
  return (
    <section>
      <h1>Not allowed</h1>
      <p>This page is for administrators.</p>
    </section>
  );
}
