// The landing page: signed out, what the portal is and how to join; signed in, the user's
// figures from the dashboard.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { Link, useLocation } from "../app/router";
import { api, useSession } from "../app/store";
import { Figures } from "../app/ui";

type Stats = components["schemas"]["DashboardStats"];

export function Home() {
  const { user } = useSession();
  const { query } = useLocation();
  const [stats, setStats] = useState<Stats | null>(null);
  useEffect(() => {
    if (!user) return;
    api.GET("/api/v1/dashboard/stats").then(({ data }) => data && setStats(data));
  }, [user?.id]);
  if (!user) {
    return (
      <section>
        {query.get("deleted") && <p role="status">Your account is deleted. Thank you for learning with us.</p>}
        <h1>Learn at your own pace</h1>
        <p>Courses in job readiness, education, life skills and tech, with mentors to talk to.</p>
        <p>
          <Link href="/signup" class="button">
            Sign up
          </Link>{" "}
          <Link href="/signin">Sign in</Link> · <Link href="/courses">Browse courses</Link>
        </p>
      </section>
    );
  }
  return (
    <section>
      <h1>Welcome, {user.name}</h1>
      {stats && (
        <Figures
          items={[
            ["Courses enrolled", stats.coursesEnrolled],
            ["Lessons completed", stats.lessonsCompleted],
            ["Courses completed", stats.coursesCompleted],
            ["Unread messages", stats.unreadMessages],
          ]}
        />
      )}
      <p>
        <Link href="/courses">Find a course</Link> · <Link href="/chat">Open chat</Link>
      </p>
    </section>
  );
}
