import { createContext, useContext } from "react";
import type { Connection } from "./connections";
import type { Upload } from "./uploads";

/** The open pipeline's project, its uploads and its database connections, for forms deep in the canvas (the import
 * nodes' pickers) without threading them through the editor. `refresh` reloads the uploads (after a drop uploaded a
 * file); the connections reload when the window regains focus (after one was added on the Data page's tab). */
export interface ProjectData {
  projectId: number;
  uploads: Upload[] | null;
  connections: Connection[] | null;
  refresh: () => void;
}

export const ProjectDataContext = createContext<ProjectData | null>(null);

export const useProjectData = () => useContext(ProjectDataContext);
