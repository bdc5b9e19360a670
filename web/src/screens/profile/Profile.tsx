// The user's own profile: avatar (uploaded as an `avatar` file; completing it makes it the
// avatar), name and bio.
import { useState } from "preact/hooks";
import { forget } from "../../app/media";
import { api, currentUser, setUser, useSession } from "../../app/store";
import { upload } from "../../app/upload";
import { Avatar, ErrorText, Field, Form, Status, UploadProgress, useAction } from "../../app/ui";

export function Profile() {
  const { user } = useSession();
  const [name, setName] = useState(user?.name ?? "");
  const [bio, setBio] = useState(user?.bio ?? "");
  const [saved, setSaved] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [avatarNote, setAvatarNote] = useState("");

  const [save, saving, error] = useAction(async () => {
    setSaved(false);
    const { data, error: problem, response } = await api.PATCH("/api/v1/users/me", { body: { name, bio } });
    if (!data) throw new Error(problem?.detail ?? `Saving failed (${response.status}).`);
    setUser(data);
    setSaved(true);
  });

  const [sendAvatar, uploading, avatarError] = useAction(async (file: File) => {
    setAvatarNote("");
    await upload(file, "avatar", setProgress);
    const { data } = await api.GET("/api/v1/users/me");
    if (data) {
      if (data.avatarUrl) forget(data.avatarUrl);
      // A new object, so the avatar re-renders even when its URL is the same.
      setUser({ ...data, avatarUrl: data.avatarUrl ? `${data.avatarUrl}?v=${data.avatarFileId}` : null });
    }
    setAvatarNote("Your new avatar is saved.");
  });

  if (!user) return <SignInFirst />;
  const me = currentUser()!;
  return (
    <section class="narrow">
      <h1>Profile</h1>
      <div class="row">
        <Avatar name={me.name} url={me.avatarUrl} size={96} />
        <label class="field">
          <span>Avatar image</span>
          <input
            type="file"
            accept="image/png,image/jpeg,image/webp,image/gif"
            disabled={uploading}
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (file) void sendAvatar(file);
            }}
          />
        </label>
      </div>
      <UploadProgress fraction={progress} />
      {avatarNote && <Status>{avatarNote}</Status>}
      <ErrorText error={avatarError} />
      <Form onSubmit={save} label="Profile">
        <Field label="Name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <label class="field">
          <span>Bio</span>
          <textarea rows={3} value={bio} onInput={(e) => setBio(e.currentTarget.value)} />
        </label>
        <ErrorText error={error} />
        <button type="submit" disabled={saving}>
          Save profile
        </button>
        {saved && <Status>Profile saved.</Status>}
      </Form>
      <p>Signed in as {me.email}.</p>
    </section>
  );
}

export function SignInFirst() {
  return (
    <section>
      <h1>Please sign in</h1>
      <p>
        <a href={`/signin?redirectTo=${encodeURIComponent(location.pathname + location.search)}`}>Sign in</a> to see this page.
      </p>
    </section>
  );
}
