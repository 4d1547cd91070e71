import { useCallback, useState } from "react";
import { uploadFile, type Upload } from "./uploads";

export interface Sending {
  key: string;
  name: string;
  share: number;
  error?: string;
}

/** Files being sent, with their progress and errors; `send` resolves to the stored upload, or null on failure
 * (the error stays in the list, by the file's name, until dismissed). */
export function useUploads(projectId: number | string) {
  const [sending, setSending] = useState<Sending[]>([]);
  const update = (key: string, change: Partial<Sending>) =>
    setSending((list) => list.map((s) => (s.key === key ? { ...s, ...change } : s)));

  const send = useCallback(
    async (file: File): Promise<Upload | null> => {
      const key = `${file.name}:${Date.now()}:${Math.random()}`;
      setSending((list) => [...list, { key, name: file.name, share: 0 }]);
      try {
        const upload = await uploadFile(projectId, file, (share) => update(key, { share }));
        setSending((list) => list.filter((s) => s.key !== key));
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
