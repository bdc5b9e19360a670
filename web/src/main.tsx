// Entry point: resumes the session from the refresh cookie, then renders the screen the
// path names inside the shared layout.
import { render } from "preact";
import "./styles.css";
import { Layout } from "./app/layout";
import { routes } from "./app/routes";
import { match, useLocation } from "./app/router";
import { boot, useSession } from "./app/store";
import { Forbidden, NotFound } from "./screens/NotFound";
import { SignInFirst } from "./screens/profile/Profile";

function App() {
  const { path } = useLocation();
  const { ready, user } = useSession();
  if (!ready) {
    return (
      <main>
        <p role="status">Loading…</p>
      </main>
    );
  }
  for (const route of routes) {
    const params = match(route.path, path);
    if (params) {
      // Screens for signed-in users (or admins) say so instead of failing their API calls.
      const allowed = route.access === "public" || (user && (route.access === "user" || user.role === "admin"));
      const Screen = allowed ? route.screen : user ? Forbidden : SignInFirst;
      return (
        <Layout title={route.title}>
          <Screen {...params} />
        </Layout>
      );
    }
  }
  return (
    <Layout title="Not found">
      <NotFound />
    </Layout>
  );
}

const root = document.getElementById("app")!;
render(<App />, root);
void boot();
