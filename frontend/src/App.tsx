export function App() {
  return <main><h1>Studio</h1></main>;
}
