import { useCallback, useEffect, useState } from "react";
import { get } from "../api/client";
import { items } from "../api/lists";
import type { Page } from "../api/types";
import type { Component } from "./model";

/** The project's components (each with its latest version), and a way to read them again after a change. */
export function useComponents(projectId: number | undefined): { components: Component[] | null; refresh: () => void } {
  const [components, setComponents] = useState<Component[] | null>(null);
  const refresh = useCallback(() => {
    if (projectId === undefined) return;
    get<Page<Component>>(`/api/components/?project=${projectId}&limit=500`)
      .then((page) => setComponents(items(page)))
      .catch(() => setComponents([]));
  }, [projectId]);
  useEffect(refresh, [refresh]);
  return { components, refresh };
}
