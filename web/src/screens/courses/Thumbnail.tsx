// A course picture: only the API's own media URL (the CSP allows images from this origin
// only), and decorative: the title beside it says what it is.
import type { components } from "@portal-api/client";

export function Thumbnail({ course }: { course: components["schemas"]["CourseSummary"] }) {
  const url = course.thumbnailUrl ?? (course.thumbnail?.startsWith("/") ? course.thumbnail : null);
  return url ? <img src={url} alt="" loading="lazy" /> : null;
}
