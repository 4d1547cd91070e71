import { useCallback, useState } from "react";
import { uploadFile, type Upload } from "./uploads";

export interface Sending {
  key: string;
  name: string;
  share: number;
  error?: string;
  /** Said of a file the studio already had (the same bytes as the newest upload of its name), until dismissed. */
  note?: string;
}

/** How long the "already uploaded" note stays unless dismissed. */
export const NOTE_SECONDS = 10;

export const unchangedNote = (upload: Upload) =>
  `the same file as ${upload.name} uploaded ${new Date(upload.created_at).toLocaleString()}: nothing new was stored, no new version`;

/** Files being sent, with their progress and errors; `send` resolves to the stored upload, or null on failure
 * (the error stays in the list by the file's name until dismissed; the note that the file was already there, for
 * NOTE_SECONDS). */
export function useUploads(projectId: number | string) {
  const [sending, setSending] = useState<Sending[]>([]);
  const update = (key: string, change: Partial<Sending>) =>
    setSending((list) => list.map((s) => (s.key === key ? { ...s, ...change } : s)));

  const send = useCallback(
    async (file: File): Promise<Upload | null> => {
      const key = `${file.name}:${Date.now()}:${Math.random()}`;
      setSending((list) => [...list, { key, name: file.name, share: 0 }]);
      try {
        const { upload, unchanged } = await uploadFile(projectId, file, (share) => update(key, { share }));
        const done = () => setSending((list) => list.filter((s) => s.key !== key));
        if (unchanged) {
          update(key, { note: unchangedNote(upload) });
          setTimeout(done, NOTE_SECONDS * 1000); // a note, not an error: it goes by itself (on the canvas it covers nodes)
        } else done();
        return upload;
      } catch (e) {
        update(key, { error: (e as Error).message });
        return null;
      }
    },
    [projectId],
  );
  const dismiss = useCallback((key: string) => setSending((list) => list.filter((s) => s.key !== key)), []);
  return { sending, send, dismiss };
}
