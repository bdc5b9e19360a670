// Editing a course: its fields, its lessons (title, length, video), and its media, uploaded
// as `course` files of this course; a lesson's video and the thumbnail pick from them.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { Link, navigate } from "../../app/router";
import { api } from "../../app/store";
import { upload } from "../../app/upload";
import { ErrorText, Field, Form, Select, Status, useAction } from "../../app/ui";
import { CATEGORIES, LEVELS } from "../courses/Catalog";
import { AdminNav } from "./AdminNav";

type Course = components["schemas"]["Course"];
type Lesson = components["schemas"]["Lesson"];
type FileView = components["schemas"]["FileView"];

export function CourseEditor({ id }: { id: string }) {
  const [course, setCourse] = useState<Course | null>(null);
  const [lessons, setLessons] = useState<Lesson[]>([]);
  const [assets, setAssets] = useState<FileView[]>([]);
  const [thumbnail, setThumbnail] = useState("");
  const [progress, setProgress] = useState<number | null>(null);
  const [note, setNote] = useState("");

  const loadAssets = async () => {
    const { data } = await api.GET("/api/v1/files", { params: { query: { limit: 100 } } });
    setAssets((data?.items ?? []).filter((f) => f.category === "course" && f.courseId === id && f.status === "ready"));
  };
  useEffect(() => {
    void (async () => {
      const { data } = await api.GET("/api/v1/courses/{id}", { params: { path: { id } } });
      if (!data) return;
      setCourse(data);
      setThumbnail(data.thumbnailFileId ?? "");
      // GET lessons/{lid} refuses authors who are not enrolled (NOT_ENROLLED), so the editor
      // starts from the outline: lesson texts and videos set before are not shown here.
      setLessons(data.lessons.map((l) => ({ id: l.id, title: l.title, description: l.description, duration: l.duration, order: l.order })));
      await loadAssets();
    })();
  }, [id]);

  // Lessons are sent only when edited: the outline lacks their texts and videos, which an
  // unedited save must not wipe.
  const [lessonsEdited, setLessonsEdited] = useState(false);
  const edit = (i: number, patch: Partial<Lesson>) => {
    setLessonsEdited(true);
    setLessons((now) => now.map((l, j) => (j === i ? { ...l, ...patch } : l)));
  };

  const [save, saving, error] = useAction(async () => {
    if (!course) return;
    setNote("");
    const { data, error: problem } = await api.PATCH("/api/v1/courses/{id}", {
      params: { path: { id } },
      body: {
        title: course.title,
        description: course.description,
        category: course.category,
        level: course.level,
        instructor: { name: course.instructor.name, bio: course.instructor.bio },
        thumbnailFileId: thumbnail || null,
        lessons: lessonsEdited ? lessons.map((l, i) => ({ ...l, order: i + 1, videoFileId: l.videoFileId || null })) : undefined,
      },
    });
    if (!data) throw new Error(problem?.detail ?? "Could not save the course.");
    setCourse(data);
    setNote("The course is saved.");
  });
  const [sendMedia, uploading, mediaError] = useAction(async (file: File) => {
    const done = await upload(file, "course", setProgress, id);
    setNote(`${done.fileName} is uploaded.`);
    await loadAssets();
  });
  const [remove, , removeError] = useAction(async () => {
    if (!confirm("Delete this course for every learner?")) return;
    await api.DELETE("/api/v1/courses/{id}", { params: { path: { id } } });
    navigate("/admin/courses");
  });

  if (!course) return <p role="status">Loading the course…</p>;
  const videos: [string, string][] = [["", "No video"], ...assets.filter((a) => a.contentType.startsWith("video/")).map((a): [string, string] => [a.id, a.fileName])];
  const images: [string, string][] = [["", "No picture"], ...assets.filter((a) => a.contentType.startsWith("image/")).map((a): [string, string] => [a.id, a.fileName])];
  const set = (patch: Partial<Course>) => setCourse({ ...course, ...patch });
  return (
    <section>
      <h1>Edit {course.title}</h1>
      <AdminNav />
      <p>
        <Link href={`/courses/${encodeURIComponent(id)}`}>See the course page</Link>
      </p>
      <h2>Media</h2>
      <label class="field">
        <span>Upload course media</span>
        <input type="file" accept="video/mp4,video/webm,image/png,image/jpeg,image/webp,application/pdf" disabled={uploading} onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (file) void sendMedia(file);
        }} />
      </label>
      {progress !== null && <progress aria-label="Media upload progress" max={100} value={Math.round(progress * 100)} />}
      <ErrorText error={mediaError} />
      <ul aria-label="Course media">
        {assets.map((a) => (
          <li key={a.id}>
            {a.fileName} <span class="meta">{a.contentType}</span>
          </li>
        ))}
      </ul>
      <Form onSubmit={save} label="Course">
        <Field label="Title" required value={course.title} onInput={(e) => set({ title: e.currentTarget.value })} />
        <label class="field">
          <span>Description</span>
          <textarea rows={3} value={course.description} onInput={(e) => set({ description: e.currentTarget.value })} />
        </label>
        <div class="row">
          <Select label="Category" value={course.category} options={CATEGORIES.slice(1)} onChange={(e) => set({ category: e.currentTarget.value as Course["category"] })} />
          <Select label="Level" value={course.level} options={LEVELS.slice(1)} onChange={(e) => set({ level: e.currentTarget.value as Course["level"] })} />
          <Field label="Instructor" value={course.instructor.name} onInput={(e) => set({ instructor: { ...course.instructor, name: e.currentTarget.value } })} />
          <Select label="Thumbnail" value={thumbnail} options={images} onChange={(e) => setThumbnail(e.currentTarget.value)} />
        </div>
        <h2>Lessons</h2>
        <p class="meta">Saving edited lessons replaces their texts and videos with what is shown here.</p>
        {lessons.map((l, i) => (
          <fieldset key={l.id}>
            <legend>Lesson {i + 1}</legend>
            <div class="row">
              <Field label={`Lesson ${i + 1} title`} required value={l.title} onInput={(e) => edit(i, { title: e.currentTarget.value })} />
              <Field label={`Lesson ${i + 1} minutes`} type="number" min={1} value={String(l.duration)} onInput={(e) => edit(i, { duration: Number(e.currentTarget.value) })} />
              <Select label={`Lesson ${i + 1} video`} value={l.videoFileId ?? ""} options={videos} onChange={(e) => edit(i, { videoFileId: e.currentTarget.value || null })} />
            </div>
            <label class="field">
              <span>{`Lesson ${i + 1} text`}</span>
              <textarea rows={3} value={l.content ?? ""} onInput={(e) => edit(i, { content: e.currentTarget.value })} />
            </label>
          </fieldset>
        ))}
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setLessonsEdited(true);
            setLessons([...lessons, { id: `l${Date.now().toString(36)}`, title: "New lesson", duration: 5, order: lessons.length + 1 }]);
          }}
        >
          Add a lesson
        </button>{" "}
        <button type="submit" disabled={saving}>
          Save course
        </button>
      </Form>
      {note && <Status>{note}</Status>}
      <ErrorText error={error ?? removeError} />
      <h2>Danger zone</h2>
      <button type="button" class="danger" onClick={remove}>
        Delete course
      </button>
    </section>
  );
}
