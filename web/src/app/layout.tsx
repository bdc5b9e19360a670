// The frame around every screen: skip link, navigation (what the user may open), the email
// verification banner, and the page's <main> with its heading.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Link, navigate } from "./router";
import { api, changed, session, useSession } from "./store";
import { describe } from "./ui";
import { syncRealtime, useUnread } from "./live";

export function Layout({ title, children }: { title: string; children: ComponentChildren }) {
  const { user } = useSession();
  useEffect(() => {
    document.title = `${title} · Learning portal`;
  }, [title]);
  const theme = user?.preferences.theme ?? "light";
  useEffect(() => {
    document.documentElement.dataset.theme = ["dark", "light", "system"].includes(theme) ? theme : "light";
  }, [theme]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <Link href="/" class="brand">
          Learning portal
        </Link>
        <Nav />
      </header>
      {user && !user.emailVerified && <VerifyBanner email={user.email} />}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer>
        <Link href="/contact">Contact us</Link>
      </footer>
    </>
  );
}

function Nav() {
  const { user } = useSession();
  const unread = useUnread();
  const signOut = async () => {
    // Closed first: the server ends this user's connections and a reconnect would be refused.
    syncRealtime(null);
    await session.logOut().catch(() => undefined);
    changed();
    navigate("/signin");
  };
  if (!user) {
    return (
      <nav aria-label="Main">
        <Link href="/courses">Courses</Link>
        <Link href="/signin">Sign in</Link>
        <Link href="/signup">Sign up</Link>
      </nav>
    );
  }
  return (
    <nav aria-label="Main">
      <Link href="/courses">Courses</Link>
      <Link href="/progress">My progress</Link>
      <Link href="/chat">Chat</Link>
      <Link href="/people">People</Link>
      <Link href="/files">Files</Link>
      <Link href="/notifications">
        Notifications{unread > 0 ? ` (${unread} unread)` : ""}
      </Link>
      <Link href="/profile">Profile</Link>
      <Link href="/settings">Settings</Link>
      {user.role === "admin" && <Link href="/admin">Admin</Link>}
      <button type="button" class="link" onClick={signOut}>
        Sign out
      </button>
    </nav>
  );
}

function VerifyBanner({ email }: { email: string }) {
  const [note, setNote] = useState("");
  const resend = async () => {
    try {
      const { response, error } = await api.POST("/api/v1/auth/resend-verification", {});
      setNote(response.ok ? `We sent a new link to ${email}.` : describe(error));
    } catch (e) {
      setNote(describe(e));
    }
  };
  return (
    <section class="banner" role="region" aria-label="Email verification">
      <p>Please verify your email address: we sent a link to {email}.</p>
      <button type="button" onClick={resend}>
        Resend verification email
      </button>
      {note && <p role="status">{note}</p>}
    </section>
  );
}
