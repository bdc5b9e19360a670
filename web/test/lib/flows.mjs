// Steps several journeys share, done as a person would (through the forms).
import { PASSWORD } from "./server.mjs";

/** Signs a new person up through the form; resolves once the home page greets them. */
export async function signUp(page, name, address) {
  await page.goto("/signup");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(address);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: `Welcome, ${name}` }).waitFor();
}

export async function signIn(page, address) {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(address);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out", exact: true }).waitFor();
}

/** Opens a screen from the main navigation. */
export async function openNav(page, name) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name }).click();
}

/** Signs up through the API (a Node fetch) and returns { token, user }. */
export async function apiSignUp(portal, name, address) {
  const r = await portal.api("/api/v1/auth/signup", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, email: address, password: PASSWORD }),
  });
  if (r.status !== 201) throw new Error(`sign-up ${r.status}: ${await r.text()}`);
  const body = await r.json();
  return { token: body.accessToken, user: body.user };
}

/**
 * A bootstrap admin (its address is in the handler's ADMIN_EMAILS): signed up through the
 * client package and verified from the mailbox, which is when the role is granted.
 */
export async function makeAdmin(portal, address) {
  const { Session } = await import("@portal-api/client");
  const admin = new Session({ baseUrl: portal.baseUrl });
  await admin.signUp({ email: address, password: PASSWORD, name: "Ada Admin" });
  const mail = await portal.mail(address, "verification");
  const token = /verify-email\?token=([^\s"<]+)/.exec(mail.text)[1];
  const verified = await portal.api(`/api/v1/auth/verify-email?token=${token}`);
  if (verified.status !== 200) throw new Error(`verify ${verified.status}`);
  const me = await admin.api.GET("/api/v1/users/me");
  if (me.data?.role !== "admin") throw new Error(`not an admin: ${JSON.stringify(me.data)}`);
  return admin;
}

/** Signs out from the navigation and waits for the sign-in page. */
export async function signOut(page) {
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
}
