// Lesson text is a little Markdown: headings and paragraphs. Rendered as text nodes only,
// never as HTML, so course content cannot inject markup.
export function Content({ text }: { text: string }) {
  const blocks = text.split(/\n{2,}/).map((b) => b.trim()).filter(Boolean);
  return (
    <div class="content">
      {blocks.map((b) => {
        const heading = /^(#{1,3})\s+(.*)$/.exec(b);
        // The page's own title is the h1: lesson headings start at h2.
        if (heading) return heading[1].length === 1 ? <h2>{heading[2]}</h2> : <h3>{heading[2]}</h3>;
        return <p>{b}</p>;
      })}
    </div>
  );
}
