// Every screen and its path. Paths the API's emails link to are fixed:
// /verify-email, /magic-link, /reset-password, /confirm-email-change and /signup (invites).
import type { FunctionComponent } from "preact";
import { ConfirmEmailChange, ForgotPassword, MagicLink, ResetPassword, VerifyEmail } from "../screens/auth/links";
import { SignIn } from "../screens/auth/SignIn";
import { SignUp } from "../screens/auth/SignUp";
import { Files } from "../screens/files/Files";
import { Shared } from "../screens/files/Shared";
import { Chat } from "../screens/chat/Chat";
import { People } from "../screens/chat/People";
import { Catalog } from "../screens/courses/Catalog";
import { CoursePage } from "../screens/courses/CoursePage";
import { LessonPage } from "../screens/courses/Lesson";
import { Progress } from "../screens/courses/Progress";
import { Archives } from "../screens/admin/Archives";
import { Authoring } from "../screens/admin/Authoring";
import { CourseEditor } from "../screens/admin/CourseEditor";
import { Dashboard } from "../screens/admin/Dashboard";
import { Users } from "../screens/admin/Users";
import { FormReview } from "../screens/admin/FormReview";
import { Forms } from "../screens/admin/Forms";
import { Contact } from "../screens/Contact";
import { Home } from "../screens/Home";
import { Notifications } from "../screens/Notifications";
import { Settings } from "../screens/settings/Settings";
import { Profile } from "../screens/profile/Profile";

// Screens take their path parameters as props.
type Screen = FunctionComponent<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Who may open a screen: anyone, a signed-in user, or an admin. */
export type Access = "public" | "user" | "admin";

export const routes: { path: string; title: string; screen: Screen; access: Access }[] = [
  { path: "", title: "Home", screen: Home, access: "public" },
  { path: "/signin", title: "Sign in", screen: SignIn, access: "public" },
  { path: "/signup", title: "Sign up", screen: SignUp, access: "public" },
  { path: "/verify-email", title: "Email verification", screen: VerifyEmail, access: "public" },
  { path: "/magic-link", title: "Magic link", screen: MagicLink, access: "public" },
  { path: "/forgot-password", title: "Forgot password", screen: ForgotPassword, access: "public" },
  { path: "/reset-password", title: "Reset password", screen: ResetPassword, access: "public" },
  { path: "/confirm-email-change", title: "Confirm email change", screen: ConfirmEmailChange, access: "public" },
  { path: "/profile", title: "Profile", screen: Profile, access: "user" },
  { path: "/files", title: "My files", screen: Files, access: "user" },
  { path: "/shared/:linkId", title: "Shared file", screen: Shared, access: "public" },
  { path: "/people", title: "People", screen: People, access: "user" },
  { path: "/chat", title: "Chat", screen: Chat, access: "user" },
  { path: "/chat/:id", title: "Chat", screen: Chat, access: "user" },
  { path: "/courses", title: "Courses", screen: Catalog, access: "public" },
  { path: "/courses/:id", title: "Course", screen: CoursePage, access: "public" },
  { path: "/courses/:id/lessons/:lid", title: "Lesson", screen: LessonPage, access: "user" },
  { path: "/progress", title: "My progress", screen: Progress, access: "user" },
  { path: "/admin", title: "Admin dashboard", screen: Dashboard, access: "admin" },
  { path: "/admin/forms", title: "Forms", screen: Forms, access: "admin" },
  { path: "/admin/forms/:id", title: "Form review", screen: FormReview, access: "admin" },
  { path: "/settings", title: "Settings", screen: Settings, access: "user" },
  { path: "/notifications", title: "Notifications", screen: Notifications, access: "user" },
  { path: "/admin/users", title: "Users", screen: Users, access: "admin" },
  { path: "/admin/courses", title: "Course authoring", screen: Authoring, access: "admin" },
  { path: "/admin/courses/:id", title: "Edit course", screen: CourseEditor, access: "admin" },
  { path: "/admin/archives", title: "Archives", screen: Archives, access: "admin" },
  { path: "/contact", title: "Contact us", screen: Contact, access: "public" },
];
