// Component tests see the app's real theme and base styles.
import '../../app.css';
