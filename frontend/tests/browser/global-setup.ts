import { startStudio } from "./server";

export default async function globalSetup() {
  const studio = await startStudio();
  process.env.STUDIO_URL = studio.url;
  process.env.SERVING_URL = studio.servingUrl;
  process.env.STUDIO_USER = studio.username;
  process.env.STUDIO_PASSWORD = studio.password;
  process.env.STUDIO_DATA_DIR_USED = studio.dataDir;
  return async () => studio.stop();
}
