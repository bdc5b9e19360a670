// The admin area's own navigation.
import { Link } from "../../app/router";

export function AdminNav() {
  return (
    <nav aria-label="Admin" class="tabs">
      <Link href="/admin">Dashboard</Link>
      <Link href="/admin/users">Users</Link>
      <Link href="/admin/forms">Forms</Link>
      <Link href="/admin/courses">Course authoring</Link>
      <Link href="/admin/archives">Archives</Link>
    </nav>
  );
}
